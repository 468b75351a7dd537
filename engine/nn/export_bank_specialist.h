#pragma once
// Export of the specialist theta(h) of an opened bank, as `souplab-cli export` and the GUI's
// export dialog both do it (torch-free header): instantiate at h, optionally evaluate it on the
// bank's validation windows for the model card, write the folder (export_specialist), and
// record the export in the run log when the log knows the bank's run. One function, so the
// two front ends cannot drift apart.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/export/specialist_export.h"

namespace souplab {

class Bank;

struct BankExportOptions {
  ExportFormat format = ExportFormat::kAll;
  bool overwrite = false;          // replace an existing out_dir
  bool with_losses = true;         // per-domain validation losses in the card and the log
  int windows = 16;                // validation windows per domain for those losses
  std::string run_log_path;        // empty = default_run_log_path()
};

struct BankExportResult : ExportResult {
  std::vector<double> h;           // the weights instantiated (normalised), in the bank's domain order
  std::vector<double> val_losses;  // empty when not asked for or the corpus is unavailable
  int64_t export_id = 0;           // run log row id; 0 when not logged
};

// Stages for a progress display: "instantiating", "evaluating", "writing <file>" (once a file is
// complete), "logging".
using BankExportProgress = std::function<void(const std::string& stage)>;

// Throws Error (naming the folder or file) when the specialist cannot be written; out_dir is
// then left as it was. Missing validation data and a run log that cannot record the export do
// not fail the export: each adds a line to `notes` (when given) saying why.
BankExportResult export_bank_specialist(const Bank& bank, const std::vector<double>& h,
                                        const std::string& out_dir, const BankExportOptions& options,
                                        std::vector<std::string>* notes = nullptr,
                                        const BankExportProgress& progress = {});

}  // namespace souplab
