// souplab-cli: the headless front end over the engine.
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "app/cli/cli_args.h"
#include "app/cli/commands.h"
#include "souplab/error.h"
#include "souplab/device.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int, char**);
  const char* summary;
};

const Command kCommands[] = {
    {"info", souplab::cli::cmd_info, "libtorch version, devices and the parameter counts of a bank config"},
    {"corpus", souplab::cli::cmd_corpus, "build|info|demo|cluster: tokenise a corpus, show it, build the demo corpus, split raw text into domains"},
    {"train", souplab::cli::cmd_train, "train a soup bank or a dense baseline"},
    {"resume", souplab::cli::cmd_resume, "continue a run from its checkpoint"},
    {"eval", souplab::cli::cmd_eval, "per-domain validation loss of the specialist at h"},
    {"generate", souplab::cli::cmd_generate, "sample text from the specialist at h"},
    {"inspect", souplab::cli::cmd_inspect, "inside the soup at h: alpha(h), the formula, distances from S and uniform h"},
    {"runs", souplab::cli::cmd_runs, "list|show: the run log"},
    {"export", souplab::cli::cmd_export, "export the specialist at h (safetensors, ONNX, tokenizer: a folder transformers loads)"},
    {"finetune", souplab::cli::cmd_finetune, "fine-tune the specialist at h (or a dense model) on a target text and export it"},
    {"merge", souplab::cli::cmd_merge, "merge models: linear, task arithmetic, TIES, DARE (exported like a specialist)"},
    {"weights", souplab::cli::cmd_weights, "domain weights h for a target text (histogram or fit)"},
    {"experts", souplab::cli::cmd_experts, "train one LoRA or full fine-tuned expert per domain from a base"},
    {"phatgoose", souplab::cli::cmd_phatgoose, "route per token among LoRA experts (PHATGOOSE, prototype, Arrow, merged)"},
    {"wemoe", souplab::cli::cmd_wemoe, "merge full experts with a weight-ensembling MoE trained on target text"},
    {"compare", souplab::cli::cmd_compare, "per-domain and target losses of several models side by side"},
};

void print_help(std::FILE* to) {
  std::fprintf(to, "souplab-cli %s: train and explore Soup-of-Experts model banks\n\n"
               "Usage: souplab-cli COMMAND [ARGS] [--help]\n\ncommands:\n", SOUPLAB_VERSION);
  for (const auto& c : kCommands) std::fprintf(to, "  %-10s %s\n", c.name, c.summary);
  std::fprintf(to, "\n  --version  print the version\n  --help     this help\n\n"
               "Each command documents its flags: souplab-cli COMMAND --help\n\n%s",
               souplab::cli::kExitStatusHelp);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") ||
      !std::strcmp(argv[1], "help")) {
    print_help(argc < 2 ? stderr : stdout);  // no command at all is a usage error
    return argc < 2 ? 2 : 0;
  }
  if (!std::strcmp(argv[1], "--version")) {
    std::printf("souplab-cli %s\n", SOUPLAB_VERSION);
    return 0;
  }
  souplab::set_torch_threads(0);  // one thread per core unless a command says otherwise
  for (const auto& c : kCommands) {
    if (std::strcmp(argv[1], c.name) != 0) continue;
    try {
      return c.run(argc, argv);
    } catch (const souplab::cli::UsageError& e) {
      std::fprintf(stderr, "souplab-cli %s\n", e.what());
      return 2;
    } catch (const souplab::Error& e) {
      std::fprintf(stderr, "souplab-cli %s: error: %s\n", c.name, e.what());
      return 1;
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "souplab-cli %s: error: out of memory; try a smaller model, batch or context\n", c.name);
      return 1;
    } catch (const std::exception& e) {
      // libtorch errors carry a C++ backtrace after the first line; the first line is the message.
      std::string msg = e.what();
      if (auto nl = msg.find('\n'); nl != std::string::npos) msg.resize(nl);
      std::fprintf(stderr, "souplab-cli %s: error: %s\n", c.name, msg.c_str());
      return 1;
    }
  }
  std::fprintf(stderr, "souplab-cli: unknown command \"%s\" (see souplab-cli --help)\n", argv[1]);
  return 2;
}
