// souplab-cli info / eval / generate / export / finetune: everything that opens a bank.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "app/cli/cli_args.h"
#include "app/cli/commands.h"
#include "app/cli/config_flags.h"
#include "souplab/atomic_file.h"
#include "souplab/device.h"
#include "souplab/domain_weights.h"
#include "souplab/error.h"
#include "souplab/export.h"
#include "souplab/finetune.h"
#include "souplab/inspect.h"
#include "souplab/model.h"
#include "souplab/param_layout.h"
#include "souplab/paths.h"
#include "souplab/run_log.h"
#include "souplab/specialist.h"
#include "souplab/validation_set.h"

namespace souplab::cli {
namespace {

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return out;
}

// h from --weights (default uniform) against the model's domains.
DomainWeights weights_for(const Args& a, const Model& model) {
  if (model.facts().domains.empty()) return {};
  return model.parse_weights(a.get("weights", "uniform"));
}

Args& bank_flags(Args& a) {
  return a.flag("weights", "H", "domain weights: uniform | onehot:NAME | 0.2,0.8 | name=0.7,name2=0.3", "uniform")
      .flag("device", "DEV", "auto | cpu | cuda | cuda:N", "auto");
}

// The commands that run a specialist (eval, generate) take the precision it runs in.
Args& inference_flags(Args& a) {
  return bank_flags(a)
      .flag("precision", "P", "fp32 | bf16 | fp16: what the specialist runs in (the bank stays float32; for GPUs)", "fp32")
      .flag("threads", "N", "CPU threads (0 = one per core); 1 is fastest for small models at batch 1", "0");
}

// Model::load with --device; says on stderr when the file carried no checksums to verify.
std::shared_ptr<const Model> load_model(const Args& a, const std::string& path, const std::string& precision = "fp32") {
  auto model = Model::load(path, a.get("device", "auto"), precision);
  if (!model->facts().verified)
    std::fprintf(stderr, "note: %s carries no checksums (written before SoupLab checksummed its files, or by "
                 "another tool): loaded unverified\n", path.c_str());
  return model;
}

// load_model with --precision; says so on stderr when the model's kind runs float32 whatever
// was asked.
std::shared_ptr<const Model> load_for_inference(const Args& a, const std::string& path) {
  const std::string precision = a.get("precision", "fp32");
  auto model = load_model(a, path, precision);
  // After the load, which sizes the team to every core: a one-token step of a small model is a
  // few dozen tiny ops, and a second thread only adds fork/join waits (and spins on a busy CPU).
  if (const int threads = int(a.get_int("threads", 0)); threads > 0) set_torch_threads(threads);
  if (model->facts().precision != precision)
    std::fprintf(stderr, "note: a %s runs in %s (--precision %s is for soup, dense and exported models)\n",
                 model_kind_name(model->kind()), model->facts().precision.c_str(), precision.c_str());
  return model;
}

// Logs an event for the bank's run, if the run log knows the run. Never fails the command.
void log_event_for(const ModelFacts& f, const std::string& run_log, const std::string& kind,
                   const nlohmann::json& detail) {
  if (f.run_id <= 0) return;
  try {
    RunLog log(run_log);
    log.get_run(f.run_id);
    log.log_event(f.run_id, kind, detail.dump());
  } catch (const Error& e) {
    std::fprintf(stderr, "note: not logged in the run log: %s\n", e.what());
  }
}

}  // namespace

int cmd_info(int argc, char** argv) {
  Args a("info", "souplab-cli info [--config FILE] [--domains K] [size flags]",
         "Prints the libtorch version, the devices, and the parameter counts of a bank config\n"
         "(the default demo bank unless a config or flags say otherwise).");
  a.flag("config", "FILE", "JSON run config").flag("domains", "K", "number of domains k (length of h)", "14");
  const std::vector<ConfigFlag> sizes = config_flags_of(a, {"model", "bank"});
  a.option("json", "print JSON instead of text");
  if (!a.parse(argc, argv, 2)) return 0;
  a.no_more_positional(0);
  RunConfig c;
  if (a.has("config")) c = parse_run_config(read_file(a.get("config")), a.get("config"));
  apply_config_flags(a, sizes, &c);
  const int k = int(a.get_int("domains", c.bank.n_domains > 0 ? c.bank.n_domains : 14));
  if (k < 1) a.usage_error("--domains must be >= 1");
  validate(c.model);
  validate(c.bank);
  const ParamCounts pc = param_counts(c.model, c.bank, k);
  if (a.has("json")) {
    const nlohmann::json j{
        {"version", SOUPLAB_VERSION}, {"torch", torch_version_string()}, {"cuda", cuda_status_string()},
        {"devices", available_devices_string()},
        {"model", {{"n_layer", c.model.n_layer}, {"n_embd", c.model.n_embd}, {"n_head", c.model.n_head},
                   {"block_size", c.model.block_size}, {"vocab_size", c.model.vocab_size}}},
        {"bank", {{"n_experts", c.bank.n_experts}, {"n_domains", k}, {"coef_hidden", c.bank.coef_hidden}}},
        {"parameters", {{"shared", pc.shared}, {"per_expert", pc.per_expert}, {"experts", pc.experts},
                        {"coef_mlp", pc.coef_mlp}, {"total", pc.total}, {"instantiated", pc.instantiated}}},
        {"bank_bytes_float32", pc.total * 4}};
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }
  std::printf("souplab-cli %s\n%s\n%s\ndevices: %s\n\n", SOUPLAB_VERSION, torch_version_string().c_str(),
              cuda_status_string().c_str(), available_devices_string().c_str());
  std::printf("bank: %d layers, width %d, %d heads, context %d, vocab %d; n = %d experts, k = %d domains, coefficient MLP %d hidden\n",
              c.model.n_layer, c.model.n_embd, c.model.n_head, c.model.block_size, c.model.vocab_size,
              c.bank.n_experts, k, c.bank.coef_hidden);
  std::printf("  %-28s %15s\n", "shared (S)", with_commas(pc.shared).c_str());
  std::printf("  %-28s %15s\n", "per expert (E_j)", with_commas(pc.per_expert).c_str());
  std::printf("  %-28s %15s\n", "experts (n x P)", with_commas(pc.experts).c_str());
  std::printf("  %-28s %15s\n", "coefficient MLP", with_commas(pc.coef_mlp).c_str());
  std::printf("  %-28s %15s\n", "total trained", with_commas(pc.total).c_str());
  std::printf("  %-28s %15s\n", "instantiated specialist", with_commas(pc.instantiated).c_str());
  std::printf("  %-28s %15.1f MB (float32)\n", "bank size", double(pc.total) * 4 / 1e6);
  return 0;
}

int cmd_eval(int argc, char** argv) {
  Args a("eval", "souplab-cli eval CHECKPOINT [--weights H]",
         "Instantiates the specialist at h and prints its validation loss on every domain,\n"
         "next to the bank at uniform h.");
  inference_flags(a).flag("windows", "N", "validation windows per domain", "16")
      .flag("run-log", "FILE", "SQLite run log", "<data dir>/runs.sqlite")
      .option("json", "print JSON instead of a table");
  if (!a.parse(argc, argv, 2)) return 0;
  a.no_more_positional(1);
  auto model = load_for_inference(a, a.positional_at(0, "CHECKPOINT"));
  const ModelFacts& f = model->facts();
  const DomainWeights h = weights_for(a, *model);
  auto spec = model->instantiate(h);
  auto val = ValidationSet::for_model(f, int(a.get_int("windows", 16)));
  const auto losses = spec->evaluate(*val);
  // The generic reference where h picks the model; otherwise it is the same model.
  const auto reference = model->capabilities().can_instantiate
                             ? model->instantiate(model->reference_weights())->evaluate(*val)
                             : losses;
  nlohmann::json j{{"checkpoint", f.path}, {"step", f.step}, {"weights", h.values()},
                   {"domains", f.domains}, {"loss", losses}, {"loss_uniform", reference},
                   {"instantiate_ms", spec->instantiate_ms()}, {"precision", f.precision}};
  log_event_for(f, a.get("run-log"), "eval", j);
  if (a.has("json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s (step %lld), specialist at %s, instantiated in %.2f ms (%s)\n", f.path.c_str(),
              static_cast<long long>(f.step), h.format().c_str(),
              spec->instantiate_ms(), f.precision.c_str());
  std::printf("  %-20s %8s %12s %12s\n", "domain", "weight", "specialist", "uniform h");
  double mix = 0, mix_ref = 0;
  for (size_t i = 0; i < f.domains.size(); ++i) {
    std::printf("  %-20s %8.3f %12.4f %12.4f\n", f.domains[i].c_str(), h[i], losses[i], reference[i]);
    mix += h[i] * losses[i];
    mix_ref += h[i] * reference[i];
  }
  std::printf("  %-20s %8s %12.4f %12.4f\n", "on D_h (h-weighted)", "", mix, mix_ref);
  return 0;
}

int cmd_generate(int argc, char** argv) {
  Args a("generate", "souplab-cli generate CHECKPOINT [--weights H] [--prompt TEXT]",
         "Samples text from the specialist at h, streamed to stdout.");
  inference_flags(a).flag("prompt", "TEXT", "text to continue", "a newline")
      .flag("length", "N", "bytes to generate", "300")
      .flag("temperature", "X", "sampling temperature (0 = greedy)", "0.8")
      .flag("top-k", "N", "sample among the N likeliest bytes (0 = all)", "40")
      .flag("seed", "N", "sampling seed", "0")
      .flag("samples", "N", "continuations sampled together in one batch, printed one after another", "1")
      .option("f16", "decode with the weights in IEEE half, as a GGUF f16 export runs (CPU, float32 models): "
                     "half the bytes per token")
      .option("timing", "print the generation's own speed to stderr (in process: no loading, no instantiation)");
  if (!a.parse(argc, argv, 2)) return 0;
  a.no_more_positional(1);
  const int64_t samples = a.get_int("samples", 1);
  if (samples < 1 || samples > 4096) a.usage_error("--samples must be in 1..4096, got " + std::to_string(samples));
  auto model = load_for_inference(a, a.positional_at(0, "CHECKPOINT"));
  auto spec = model->instantiate(weights_for(a, *model));
  SampleOptions o;
  o.max_new_tokens = int(a.get_int("length", 300));
  o.temperature = a.get_double("temperature", 0.8);
  o.top_k = int(a.get_int("top-k", 40));
  o.seed = uint64_t(a.get_int("seed", 0));
  o.f16_weights = a.has("f16");
  const std::string prompt = a.get("prompt", "\n");
  const bool streamed = samples == 1;  // several samples arrive interleaved: printed when done
  if (streamed) std::fputs(prompt.c_str(), stdout);
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  double first_ms = -1;
  size_t bytes = 0;
  const auto texts = spec->generate_samples(prompt, o, int(samples), [&](int, const std::string& piece) {
    if (first_ms < 0) first_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    bytes += piece.size();
    if (streamed) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
    }
    return true;
  });
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (streamed) {
    std::fputs("\n", stdout);
  } else {
    for (size_t i = 0; i < texts.size(); ++i)
      std::printf("--- sample %zu of %zu ---\n%s%s\n", i + 1, texts.size(), prompt.c_str(), texts[i].c_str());
  }
  // After the first byte of every sample: the steady rate, without the prompt's pass.
  const size_t after_first = bytes > size_t(samples) ? bytes - size_t(samples) : 0;
  if (a.has("timing"))
    std::fprintf(stderr, "timing: %zu bytes in %.1f ms (%lld sample(s)), first after %.2f ms, then %.1f bytes/s\n",
                 bytes, ms, static_cast<long long>(samples), first_ms,
                 after_first > 0 ? double(after_first) / ((ms - first_ms) * 1e-3) : 0.0);
  return 0;
}

namespace {

// "H_A:H_B", where either side may itself hold a colon (onehot:NAME): the first split at which
// both sides parse as weights over the model's domains.
std::pair<DomainWeights, DomainWeights> parse_path(const Args& a, const Model& model, const std::string& text) {
  for (size_t i = text.find(':'); i != std::string::npos; i = text.find(':', i + 1)) {
    try {
      return {model.parse_weights(text.substr(0, i)), model.parse_weights(text.substr(i + 1))};
    } catch (const Error&) {
      // not this colon
    }
  }
  a.usage_error("--path expects H_A:H_B (two domain weights), got \"" + text + "\"");
}

// The losses along a path between two specialists: one row per point, per domain both ways.
int print_path(const Args& a, const Model& model) {
  const ModelFacts& f = model.facts();
  const auto [from, to] = parse_path(a, model, a.get("path"));
  const auto windows = ValidationSet::for_model(f, int(a.get_int("windows", 4)));
  const std::vector<PathPoint> path = loss_path(model, from, to, int(a.get_int("points", 10)), *windows);
  if (a.has("json")) {
    nlohmann::json points = nlohmann::json::array();
    for (const PathPoint& p : path)
      points.push_back({{"t", p.t}, {"weights", p.h.values()}, {"along_h", p.along_h}, {"along_weights", p.along_weights}});
    std::printf("%s\n", nlohmann::json{{"checkpoint", f.path}, {"domains", f.domains}, {"from", from.values()},
                                       {"to", to.values()}, {"points", points}}.dump(2).c_str());
    return 0;
  }
  std::printf("%s: from %s to %s; per domain, the specialist at h(t) / the straight blend of the two\n"
              "specialists' weights (nats/byte)\n\n  %5s", f.path.c_str(), from.format().c_str(), to.format().c_str(), "t");
  for (const auto& d : f.domains) std::printf(" %17.17s", d.c_str());
  std::printf("\n");
  for (const PathPoint& p : path) {
    std::printf("  %5.2f", p.t);
    for (size_t d = 0; d < f.domains.size(); ++d) std::printf("    %6.4f/%6.4f", p.along_h[d], p.along_weights[d]);
    std::printf("\n");
  }
  return 0;
}

// The loss on a target over the 2-simplex of three domains' weights: one row per grid point.
int print_landscape(const Args& a, const Model& model) {
  const ModelFacts& f = model.facts();
  std::array<size_t, 3> corners{};
  const std::vector<std::string> names = split_list(a.get("landscape"));
  if (names.size() != 3) a.usage_error("--landscape expects three domains D1,D2,D3, got \"" + a.get("landscape") + "\"");
  for (size_t c = 0; c < 3; ++c) {
    const auto it = std::find(f.domains.begin(), f.domains.end(), names[c]);
    if (it == f.domains.end()) a.usage_error("--landscape: \"" + names[c] + "\" is not a domain of " + f.path);
    corners[c] = size_t(it - f.domains.begin());
  }
  // The target: a file or folder of text, a domain, or a mixture of the domains.
  const std::string target = a.get("target", "uniform");
  std::shared_ptr<const ValidationSet> windows;
  std::vector<double> mixture;
  if (std::filesystem::exists(target)) {
    windows = ValidationSet::from_text(target, std::filesystem::path(target).filename().string(), f.config.model.block_size,
                                       int(a.get_int("windows", 16)));
  } else {
    const bool domain = std::find(f.domains.begin(), f.domains.end(), target) != f.domains.end();
    mixture = model.parse_weights(domain ? "onehot:" + target : target).values();
    windows = ValidationSet::for_model(f, int(a.get_int("windows", 4)));
  }
  const auto grid = loss_landscape(model, weights_for(a, model), corners, int(a.get_int("resolution", 6)), *windows, mixture);
  const auto best = std::min_element(grid.begin(), grid.end(), [](const auto& x, const auto& y) { return x.loss < y.loss; });
  if (a.has("json")) {
    nlohmann::json points = nlohmann::json::array();
    for (const LandscapePoint& p : grid) points.push_back({{"share", p.share}, {"weights", p.h.values()}, {"loss", p.loss}});
    std::printf("%s\n", nlohmann::json{{"checkpoint", f.path}, {"domains", f.domains}, {"corners", names},
                                       {"target", target}, {"points", points}}.dump(2).c_str());
    return 0;
  }
  std::printf("%s: loss on %s over the shares of %s, %s and %s (the other domains as in --weights)\n\n"
              "  %8.8s %8.8s %8.8s %10s\n", f.path.c_str(), target.c_str(), names[0].c_str(), names[1].c_str(),
              names[2].c_str(), names[0].c_str(), names[1].c_str(), names[2].c_str(), "loss");
  for (const LandscapePoint& p : grid)
    std::printf("  %8.3f %8.3f %8.3f %10.4f%s\n", p.share[0], p.share[1], p.share[2], p.loss, &p == &*best ? "  <- lowest" : "");
  return 0;
}

// A model that is not a soup bank: what plays alpha(h)'s part (a MoE's router load, the expert
// h chooses, a merge's weights), as a table of its rows and parts.
int print_mixing(const Args& a, const Model& model) {
  const ModelFacts& f = model.facts();
  std::shared_ptr<const ValidationSet> windows;
  // Routing per token is measured on validation windows (a MoE, PHATGOOSE, WEMoE).
  if (f.kind == ModelKind::kMoe || f.kind == ModelKind::kPhatgoose || f.kind == ModelKind::kWemoe)
    windows = ValidationSet::for_model(f, int(a.get_int("windows", 4)));
  const DomainWeights h = weights_for(a, model);
  const MixingRole r = model.mixing_role(h, windows.get());
  if (a.has("json")) {
    const nlohmann::json j{{"model", f.path}, {"kind", model_kind_name(f.kind)}, {"step", f.step},
                           {"domains", f.domains}, {"weights", h.values()}, {"role", r.role},
                           {"formula", r.formula}, {"note", r.note}, {"columns", r.columns},
                           {"rows", r.rows}, {"values", r.values}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s (%s, step %lld) at %s\n\n%s\n%s\n", f.path.c_str(), model_kind_name(f.kind),
              static_cast<long long>(f.step), h.format().c_str(), r.formula.c_str(), r.note.c_str());
  if (r.values.empty()) return 0;
  std::printf("\n  %-12s", r.role.c_str());
  for (size_t j = 0; j < r.columns.size(); ++j) std::printf(" %10s", r.columns[j].size() <= 10 ? r.columns[j].c_str() : ("M" + std::to_string(j + 1)).c_str());
  std::printf("\n");
  for (size_t b = 0; b < r.values.size(); ++b) {
    std::printf("  %-12s", b < r.rows.size() ? r.rows[b].c_str() : "");
    for (double v : r.values[b]) std::printf(" %10.4f", v);
    std::printf("\n");
  }
  for (size_t j = 0; j < r.columns.size(); ++j)
    if (r.columns[j].size() > 10) std::printf("  M%zu = %s\n", j + 1, r.columns[j].c_str());
  return 0;
}

}  // namespace

int cmd_inspect(int argc, char** argv) {
  Args a("inspect",
         "souplab-cli inspect CHECKPOINT [--weights H] [--path H_A:H_B [--points N] | --landscape D1,D2,D3 "
         "[--target T] [--resolution R]] [--json]",
         "What makes up the specialist at h: the coefficients alpha(h) of every expert, the formula\n"
         "theta = S + sum_j alpha_j E_j with its numbers, and how far theta(h) is from the shared\n"
         "parameters S and from the uniform-h specialist (||theta_h - theta_u|| / ||theta_u||), per\n"
         "transformer block and per tensor (GPT-2 names). For another model, what plays alpha's part:\n"
         "a MoE's router load per block and expert, PHATGOOSE's routing weights, WEMoE's merge\n"
         "coefficients (each on --windows validation windows per domain, mixed by h), the expert h\n"
         "chooses among post-hoc experts, a merge's weights.\n"
         "--path H_A:H_B: instead, the per-domain validation loss along h(t) = (1 - t) h_A + t h_B and\n"
         "along the straight segment between the two specialists' weights (not the same thing).\n"
         "--landscape D1,D2,D3: instead, the loss on a target (a domain, a mixture like --weights, or a\n"
         "file or folder of text) over the 2-simplex of those three domains' weights, the others as in\n"
         "--weights, on a grid of R steps per edge.");
  bank_flags(a)
      .flag("path", "H_A:H_B", "losses along the path between two specialists (e.g. onehot:code_c:onehot:prose)")
      .flag("points", "N", "--path: steps between the two ends", "10")
      .flag("landscape", "D1,D2,D3", "the loss over the simplex of three domains' weights")
      .flag("target", "T", "--landscape: a domain, a mixture (0.2,0.8 | name=0.7,...) or a text file/folder", "uniform")
      .flag("resolution", "R", "--landscape: grid steps per edge ((R+1)(R+2)/2 specialists)", "6")
      .flag("windows", "N", "--path, --landscape: validation windows per domain (16 of a target text)", "4")
      .option("json", "print JSON (every tensor; every point) instead of tables");
  if (!a.parse(argc, argv, 2)) return 0;
  a.no_more_positional(1);
  auto model = load_model(a, a.positional_at(0, "CHECKPOINT"));
  if (a.has("path") && a.has("landscape")) a.usage_error("--path and --landscape are two views: give one");
  if (a.has("path")) return print_path(a, *model);
  if (a.has("landscape")) return print_landscape(a, *model);
  const ModelFacts& f = model->facts();
  if (f.kind != ModelKind::kSoup || f.config.bank.n_experts == 0) return print_mixing(a, *model);
  const SoupInspection in = model->inspect(weights_for(a, *model));
  auto distances = [](const std::vector<ParamDistance>& rows) {
    nlohmann::json out = nlohmann::json::array();
    for (const ParamDistance& d : rows)
      out.push_back({{"name", d.name}, {"layer", d.layer}, {"numel", d.numel}, {"from_shared", d.from_shared},
                     {"from_uniform", d.from_uniform}});
    return out;
  };
  if (a.has("json")) {
    const nlohmann::json j{{"checkpoint", f.path}, {"step", f.step}, {"domains", f.domains},
                           {"weights", in.h.values()}, {"alpha", in.alpha}, {"alpha_uniform", in.alpha_uniform},
                           {"formula", soup_formula(in.alpha, 4)}, {"blocks", distances(in.blocks)},
                           {"tensors", distances(in.tensors)}};
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s (step %lld), specialist at %s\n\n%s\n\n", f.path.c_str(), static_cast<long long>(f.step),
              in.h.format().c_str(), soup_formula(in.alpha).c_str());
  std::printf("  %-8s %10s %10s\n", "expert", "alpha(h)", "uniform h");
  for (size_t j = 0; j < in.alpha.size(); ++j)
    std::printf("  E%-7zu %10.4f %10.4f\n", j + 1, in.alpha[j], in.alpha_uniform[j]);
  std::printf("\n  %-34s %10s %14s\n", "relative distance", "from S", "from uniform h");
  for (const ParamDistance& d : in.blocks) std::printf("  %-34s %10.4f %14.4f\n", d.name.c_str(), d.from_shared, d.from_uniform);
  std::printf("\n");
  for (const ParamDistance& d : in.tensors) std::printf("  %-34s %10.4f %14.4f\n", d.name.c_str(), d.from_shared, d.from_uniform);
  return 0;
}

int cmd_export(int argc, char** argv) {
  Args a("export", "souplab-cli export CHECKPOINT --weights H --out DIR [--format F]",
         "Instantiates the specialist at h and writes it as a folder other tools load:\n"
         "model.safetensors + config.json (GPT-2 names), model.onnx, a byte-level tokenizer\n"
         "(tokenizer.json, tokenizer_config.json), generation_config.json and a README.md model\n"
         "card: Hugging Face transformers' AutoTokenizer, AutoModelForCausalLM and pipeline load it.");
  bank_flags(a).flag("out", "DIR", "output folder (must not exist unless --overwrite)")
      .flag("format", "F", "safetensors | onnx | gguf (= gguf-f16) | gguf-q8_0 | gguf-f32 | all (safetensors, onnx, gguf-f16)", "all")
      .flag("windows", "N", "validation windows per domain for the card's losses", "16")
      .flag("run-log", "FILE", "SQLite run log", "<data dir>/runs.sqlite")
      .option("overwrite", "replace an existing output folder")
      .option("no-eval", "skip the per-domain validation losses in the card");
  if (!a.parse(argc, argv, 2)) return 0;
  a.no_more_positional(1);
  const std::string checkpoint = a.positional_at(0, "CHECKPOINT");
  a.required("out");
  ExportFormat format;
  if (!parse_export_format(a.get("format", "all"), &format))
    a.usage_error("--format must be safetensors, onnx, gguf, gguf-f16, gguf-q8_0, gguf-f32 or all, got \"" + a.get("format") + "\"");
  auto model = load_model(a, checkpoint);
  ModelExportOptions options;
  options.format = format;
  options.overwrite = a.has("overwrite");
  options.with_losses = !a.has("no-eval");
  options.windows = int(a.get_int("windows", 16));
  options.run_log_path = a.get("run-log");
  std::vector<std::string> notes;
  const ModelExportResult r = model->export_specialist(weights_for(a, *model), a.get("out"), options, &notes);
  for (const auto& n : notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  std::printf("exported %s (%lld parameters):", r.dir.c_str(), static_cast<long long>(r.n_params));
  for (const auto& file : r.files) std::printf(" %s", file.c_str());
  std::printf("\n");
  return 0;
}

int cmd_finetune(int argc, char** argv) {
  Args a("finetune", "souplab-cli finetune MODEL --target TEXT --out DIR [--weights H] [--steps K]",
         "Instantiates the specialist at h (any dense model as it is), fine-tunes it for K steps on\n"
         "a target text (a file or a folder of text files) and exports it like a specialist. The\n"
         "target's end (--holdout) is never trained on; the loss there is printed before and after,\n"
         "so a soup specialist and a dense model fine-tuned the same K steps can be compared.");
  bank_flags(a).flag("target", "TEXT", "text file or folder to fine-tune on")
      .flag("out", "DIR", "output folder (must not exist unless --overwrite)")
      .flag("steps", "K", "AdamW steps", "100")
      .flag("lr", "X", "peak learning rate (warm-up 10%, cosine to 0.1x)", "3e-4")
      .flag("batch", "N", "windows of the model's context per step", "8")
      .flag("holdout", "F", "share of the target (its end) kept out of training", "0.2")
      .flag("seed", "N", "which training windows", "1234")
      .flag("format", "F", "safetensors | onnx | gguf (= gguf-f16) | gguf-q8_0 | gguf-f32 | all (safetensors, onnx, gguf-f16)", "all")
      .flag("run-log", "FILE", "SQLite run log", "<data dir>/runs.sqlite")
      .option("overwrite", "replace an existing output folder");
  if (!a.parse(argc, argv, 2)) return 0;
  a.no_more_positional(1);
  const std::string source = a.positional_at(0, "MODEL");
  a.required("target");
  a.required("out");
  ModelExportOptions eo;
  if (!parse_export_format(a.get("format", "all"), &eo.format))
    a.usage_error("--format must be safetensors, onnx, gguf, gguf-f16, gguf-q8_0, gguf-f32 or all, got \"" + a.get("format") + "\"");
  eo.overwrite = a.has("overwrite");
  eo.run_log_path = a.get("run-log");
  auto model = load_model(a, source);
  FinetuneOptions o;
  o.steps = a.get_int("steps", 100);
  o.lr = a.get_double("lr", 3e-4);
  o.batch_size = int(a.get_int("batch", 8));
  o.holdout = a.get_double("holdout", 0.2);
  o.seed = uint64_t(a.get_int("seed", 1234));
  o.device = a.get("device", "auto");
  o.progress = [](int64_t step, int64_t steps, double loss) {
    if (step % 10 == 0 || step == steps) std::fprintf(stderr, "\rstep %lld/%lld  loss %.4f", (long long)step, (long long)steps, loss);
    return true;
  };
  std::vector<std::string> notes;
  const FinetuneExportResult r = finetune_and_export(*model, weights_for(a, *model), a.get("target"), o, a.get("out"), eo, &notes);
  std::fprintf(stderr, "\n");
  for (const auto& n : notes) std::fprintf(stderr, "note: %s\n", n.c_str());
  std::printf("fine-tuned %s for %lld steps in %.1f s\n", model->facts().path.c_str(),
              static_cast<long long>(r.tuned.steps), r.tuned.seconds);
  std::printf("held-out target loss (%d windows): %.4f before, %.4f after (%+.2f%%)\n", r.tuned.eval_windows,
              r.tuned.loss_before, r.tuned.loss_after, 100.0 * (r.tuned.loss_after - r.tuned.loss_before) / r.tuned.loss_before);
  std::printf("exported %s:", r.exported.dir.c_str());
  for (const auto& file : r.exported.files) std::printf(" %s", file.c_str());
  std::printf("\n");
  return 0;
}

}  // namespace souplab::cli
