#include "souplab/config.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "souplab/error.h"

namespace souplab {
namespace {

using nlohmann::json;

// The config table: each bind() below lists a struct's fields once, with their JSON keys and,
// where a key has one, its command-line flag and help text. A Binder walks that list to write
// JSON, read it (rejecting unknown keys and values of the wrong type, naming the key and the
// source), list the flags for --help (defaults from a default-made struct), or set one key from
// a flag's text. Adding a key is one line in its bind().
struct Flag {
  const char* name = nullptr;          // the flag without dashes; null: no flag
  const char* value_name = "";         // "N", "X", "DIR", ...
  const char* help = "";
  const char* default_text = nullptr;  // what --help says the default is; null: the value
};

class Binder {
 public:
  static Binder writer(json* out) { return Binder(Mode::kWrite, out, nullptr, "", ""); }
  static Binder reader(const json* in, std::string where) {
    return Binder(Mode::kRead, nullptr, in, std::move(where), "");
  }
  static Binder flag_lister(std::string section, std::vector<ConfigFlag>* out) {
    Binder b(Mode::kListFlags, nullptr, nullptr, "", std::move(section));
    b.flags_ = out;
    return b;
  }
  static Binder flag_setter(const std::string& flag, const std::string& text) {
    Binder b(Mode::kSetFlag, nullptr, nullptr, "", "");
    b.flag_ = flag;
    b.text_ = text;
    return b;
  }

  template <typename T>
  void field(const char* key, T& value, const Flag& flag = {}) {
    switch (mode_) {
      case Mode::kWrite: (*out_)[key] = to_json_value(value); return;
      case Mode::kRead: return read(key, value);
      case Mode::kListFlags:
        if (flag.name)
          flags_->push_back({section_, key, flag.name, flag.value_name, flag.help,
                             flag.default_text ? flag.default_text : default_text(value)});
        return;
      case Mode::kSetFlag:
        if (flag.name && flag_ == flag.name) {
          from_text(value);
          found_ = true;
        }
        return;
    }
  }

  void reject_unknown() const {
    if (mode_ != Mode::kRead) return;
    for (auto it = in_->begin(); it != in_->end(); ++it) {
      if (std::find(seen_.begin(), seen_.end(), it.key()) == seen_.end())
        throw Error(where_ + ": unknown key \"" + it.key() + "\"");
    }
  }
  bool found() const { return found_; }

 private:
  enum class Mode { kWrite, kRead, kListFlags, kSetFlag };
  Binder(Mode mode, json* out, const json* in, std::string where, std::string section)
      : mode_(mode), out_(out), in_(in), where_(std::move(where)), section_(std::move(section)) {}

  template <typename T>
  static json to_json_value(const T& value) {
    if constexpr (std::is_same_v<T, ModelKind>) return model_kind_name(value);
    else return value;
  }

  template <typename T>
  void read(const char* key, T& value) {
    seen_.push_back(key);
    auto it = in_->find(key);
    if (it == in_->end()) return;  // keep the default
    try {
      if constexpr (std::is_same_v<T, double>) {
        if (!it->is_number()) throw Error("expected a number");
      } else if constexpr (std::is_integral_v<T>) {
        if (!it->is_number_integer()) throw Error("expected an integer");
      } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, ModelKind>) {
        if (!it->is_string()) throw Error("expected a string");
      }
      if constexpr (std::is_same_v<T, ModelKind>) value = kind_of(it->get<std::string>());
      else value = it->get<T>();
    } catch (const std::exception& e) {
      throw Error(where_ + ": key \"" + key + "\": " + e.what());
    }
  }

  // The only ModelKind key is train.kind, so the error names the kinds a run can train.
  static ModelKind kind_of(const std::string& name) {
    const auto kind = parse_model_kind(name);
    if (!kind) throw Error("kind must be soup, dense or moe, got \"" + name + "\"");
    return *kind;
  }

  template <typename T>
  static std::string default_text(const T& value) {
    if constexpr (std::is_same_v<T, std::string>) return value;
    else if constexpr (std::is_same_v<T, ModelKind>) return model_kind_name(value);
    else return to_json_value(value).dump();
  }

  template <typename T>
  void from_text(T& value) const {
    const auto bad = [&](const char* expected) {
      return Error("--" + flag_ + " expects " + expected + ", got \"" + text_ + "\"");
    };
    char* end = nullptr;
    if constexpr (std::is_same_v<T, std::string>) {
      value = text_;
    } else if constexpr (std::is_same_v<T, ModelKind>) {
      value = kind_of(text_);
    } else if constexpr (std::is_same_v<T, double>) {
      value = std::strtod(text_.c_str(), &end);
      if (text_.empty() || *end != '\0') throw bad("a number");
    } else if constexpr (std::is_integral_v<T>) {
      errno = 0;
      const long long v = std::strtoll(text_.c_str(), &end, 10);
      const bool fits = v >= (long long)std::numeric_limits<T>::min() &&
                        (v <= 0 || (unsigned long long)v <= (unsigned long long)std::numeric_limits<T>::max());
      if (text_.empty() || *end != '\0' || errno == ERANGE || !fits) throw bad("an integer");
      value = T(v);
    } else {  // std::vector<double>: "0.2,0.8"
      value.clear();
      std::stringstream ss(text_);
      for (std::string part; std::getline(ss, part, ',');) {
        const double v = std::strtod(part.c_str(), &end);
        if (part.empty() || *end != '\0') throw bad("comma-separated numbers");
        value.push_back(v);
      }
    }
  }

  Mode mode_;
  json* out_;
  const json* in_;
  std::string where_;
  std::string section_;
  std::vector<std::string> seen_;
  std::vector<ConfigFlag>* flags_ = nullptr;
  std::string flag_, text_;
  bool found_ = false;
};

void bind(Binder& b, ModelConfig& c) {
  b.field("vocab_size", c.vocab_size);
  b.field("block_size", c.block_size, {"context", "N", "context length in bytes"});
  b.field("n_layer", c.n_layer, {"layers", "N", "transformer blocks"});
  b.field("n_head", c.n_head, {"heads", "N", "attention heads"});
  b.field("n_embd", c.n_embd, {"width", "N", "model width n_embd"});
}

void bind(Binder& b, BankConfig& c) {
  b.field("n_experts", c.n_experts, {"experts", "N", "experts: n of a soup, E per block of a moe"});
  b.field("n_domains", c.n_domains);
  b.field("coef_hidden", c.coef_hidden, {"coef-hidden", "N", "hidden width of the coefficient MLP"});
  b.field("expert_init_scale", c.expert_init_scale, {"expert-init-scale", "X", "soup: experts' initial scale, times S's"});
  b.field("alpha_init_l1", c.alpha_init_l1, {"alpha-init-l1", "X", "soup: initial sum |alpha_j| (0 = default init)"});
  b.field("alpha_centered", c.alpha_centered, {"alpha-centered", "0|1", "soup: one-hot h gives alphas centred on their mean"});
  b.field("expert_lr_scale", c.expert_lr_scale, {"expert-lr-scale", "X", "soup: experts' lr, times --lr"});
  b.field("expert_lr_scale_start", c.expert_lr_scale_start,
          {"expert-lr-scale-start", "X", "soup: experts' lr at step 0, rising to --expert-lr-scale (0 = constant)"});
  b.field("coef_lr_scale", c.coef_lr_scale, {"coef-lr-scale", "X", "soup: coefficient MLP's lr, times --lr"});
  b.field("expert_rank", c.expert_rank, {"expert-rank", "R", "soup: experts of rank R (0 = full)"});
}

void bind(Binder& b, MoeConfig& c) {
  b.field("n_experts", c.n_experts, {"moe-experts", "N", "moe: E per MoE block (as --experts does for a moe)"});
  b.field("top_k", c.top_k, {"top-k", "K", "moe: experts per token, 1 (Switch) or 2 (GShard)"});
  b.field("every", c.every, {"moe-every", "N", "moe: every N-th block has experts (1 = all, 2 = every other)"});
  b.field("capacity_factor_train", c.capacity_factor_train, {"capacity-train", "X", "moe: capacity factor in training"});
  b.field("capacity_factor_eval", c.capacity_factor_eval, {"capacity-eval", "X", "moe: capacity factor in evaluation"});
  b.field("balance_coef", c.balance_coef, {"balance-coef", "X", "moe: load-balancing loss coefficient a"});
  b.field("z_loss_coef", c.z_loss_coef, {"z-loss-coef", "X", "moe: router z-loss coefficient"});
}

void bind(Binder& b, TrainConfig& c) {
  b.field("kind", c.kind, {"kind", "soup|dense|moe", "what to train"});
  b.field("corpus_dir", c.corpus_dir, {"corpus", "DIR", "corpus folder", "the demo corpus"});
  b.field("cache_dir", c.cache_dir, {"cache-dir", "DIR", "token cache folder", "the user's cache dir"});
  b.field("out_dir", c.out_dir, {"out", "DIR", "checkpoint folder", "<data dir>/runs/run-<id>"});
  b.field("run_name", c.run_name, {"name", "TEXT", "run name in the run log", "kind and time"});
  b.field("device", c.device, {"device", "DEV", "auto | cpu | cuda | cuda:N"});
  b.field("precision", c.precision, {"precision", "P", "fp32 | bf16 (autocast on CUDA; float32 bank and state)"});
  b.field("steps", c.steps, {"steps", "N", "optimiser steps"});
  b.field("batch_size", c.batch_size, {"batch", "N", "sequences per step"});
  b.field("lr", c.lr, {"lr", "X", "peak learning rate"});
  b.field("min_lr_ratio", c.min_lr_ratio, {"min-lr-ratio", "X", "the cosine decays to lr times this"});
  b.field("warmup_steps", c.warmup_steps, {"warmup", "N", "warm-up steps"});
  b.field("weight_decay", c.weight_decay, {"weight-decay", "X", "AdamW weight decay"});
  b.field("beta1", c.beta1);
  b.field("beta2", c.beta2);
  b.field("adam_eps", c.adam_eps);
  b.field("grad_clip", c.grad_clip, {"grad-clip", "X", "gradient norm clip (0 = off)"});
  b.field("log_interval", c.log_interval, {"log-interval", "N", "report train loss every N steps"});
  b.field("eval_interval", c.eval_interval, {"eval-interval", "N", "per-domain validation every N steps"});
  b.field("eval_windows", c.eval_windows, {"eval-windows", "N", "validation windows per domain"});
  b.field("checkpoint_interval", c.checkpoint_interval, {"checkpoint-interval", "N", "checkpoint every N steps"});
  b.field("keep_checkpoints", c.keep_checkpoints, {"keep", "K", "checkpoints to keep"});
  b.field("seed", c.seed, {"seed", "N", "random seed"});
  b.field("meta_distribution", c.meta_distribution, {"meta", "NAME", "meta-distribution: sparse_dirichlet | dirichlet | onehot"});
  b.field("support_max", c.support_max, {"support-max", "N", "largest support of the sparse Dirichlet (0: max(4, k/5) for k domains)"});
  b.field("h_per_step", c.h_per_step, {"h-per-step", "N", "soup: h per step, at most (equal groups of --batch; 0 = one per sequence)"});
  b.field("dense_mixture", c.dense_mixture, {"dense-mixture", "fixed|sampled", "dense: fixed mixture, or drawn from pi"});
  b.field("domain_prior", c.domain_prior,
          {"domain-prior", "uniform|size", "domains alike, or in proportion to their size (dense mixture; soup's pi)"});
  b.field("init_from", c.init_from, {"init-from", "FILE", "soup: start S from a dense checkpoint or export"});
  b.field("mixture", c.mixture);
  b.field("threads", c.threads, {"threads", "N", "CPU threads (0 = libtorch default)"});
}

template <typename T>
json dump(const T& c) {
  json j = json::object();
  Binder b = Binder::writer(&j);
  bind(b, const_cast<T&>(c));
  return j;
}

template <typename T>
T load(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": expected a JSON object");
  T c;
  Binder b = Binder::reader(&j, where);
  bind(b, c);
  b.reject_unknown();
  return c;
}

json parse_text(const std::string& text, const std::string& source) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for 1e999 (found by fuzz/)
    throw Error(source + ": not valid JSON (" + e.what() + ")");
  }
}

// Every section of the table with its name, in the order of a config file.
template <typename Fn>
void for_each_section(RunConfig& c, Fn&& fn) {
  fn("model", c.model);
  fn("bank", c.bank);
  fn("moe", c.moe);
  fn("train", c.train);
}

void require(bool ok, const std::string& message) {
  if (!ok) throw Error("invalid configuration: " + message);
}

}  // namespace

std::string to_json(const ModelConfig& c) { return dump(c).dump(); }
std::string to_json(const BankConfig& c) { return dump(c).dump(); }
std::string to_json(const TrainConfig& c) { return dump(c).dump(); }
std::string to_json(const MoeConfig& c) { return dump(c).dump(); }
std::string to_json(const RunConfig& c) {
  json j;
  j["model"] = dump(c.model);
  j["bank"] = dump(c.bank);
  j["moe"] = dump(c.moe);
  j["train"] = dump(c.train);
  return j.dump(2);
}

std::vector<ConfigFlag> config_flags() {
  std::vector<ConfigFlag> flags;
  RunConfig defaults;
  for_each_section(defaults, [&](const char* section, auto& c) {
    Binder b = Binder::flag_lister(section, &flags);
    bind(b, c);
  });
  return flags;
}

void set_config_flag(RunConfig& c, const std::string& flag, const std::string& text) {
  bool found = false;
  for_each_section(c, [&](const char*, auto& section) {
    Binder b = Binder::flag_setter(flag, text);
    bind(b, section);
    found = found || b.found();
  });
  if (!found) throw Error("--" + flag + " is not a config flag");
}

ModelConfig parse_model_config(const std::string& text, const std::string& source) {
  return load<ModelConfig>(parse_text(text, source), source);
}
BankConfig parse_bank_config(const std::string& text, const std::string& source) {
  return load<BankConfig>(parse_text(text, source), source);
}
TrainConfig parse_train_config(const std::string& text, const std::string& source) {
  return load<TrainConfig>(parse_text(text, source), source);
}
MoeConfig parse_moe_config(const std::string& text, const std::string& source) {
  return load<MoeConfig>(parse_text(text, source), source);
}

RunConfig parse_run_config(const std::string& text, const std::string& source) {
  json j = parse_text(text, source);
  if (!j.is_object()) throw Error(source + ": expected a JSON object");
  RunConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string where = source + ": section \"" + it.key() + "\"";
    if (it.key() == "model") c.model = load<ModelConfig>(it.value(), where);
    else if (it.key() == "bank") c.bank = load<BankConfig>(it.value(), where);
    else if (it.key() == "moe") c.moe = load<MoeConfig>(it.value(), where);
    else if (it.key() == "train") c.train = load<TrainConfig>(it.value(), where);
    else throw Error(source + ": unknown section \"" + it.key() + "\" (expected model, bank, moe, train)");
  }
  return c;
}

void validate(const ModelConfig& c) {
  require(c.vocab_size == 256, "vocab_size must be 256 (bytes are tokens), got " +
                                   std::to_string(c.vocab_size));
  require(c.block_size >= 2 && c.block_size <= 65536,
          "block_size must be in 2..65536, got " + std::to_string(c.block_size));
  require(c.n_layer >= 1 && c.n_layer <= 256, "n_layer must be in 1..256, got " +
                                                  std::to_string(c.n_layer));
  require(c.n_head >= 1, "n_head must be >= 1, got " + std::to_string(c.n_head));
  require(c.n_embd >= 1 && c.n_embd <= 65536, "n_embd must be in 1..65536, got " +
                                                  std::to_string(c.n_embd));
  require(c.n_embd % c.n_head == 0, "n_embd (" + std::to_string(c.n_embd) +
                                        ") must be divisible by n_head (" +
                                        std::to_string(c.n_head) + ")");
}

void validate(const BankConfig& c) {
  require(c.n_experts >= 0 && c.n_experts <= 4096,
          "n_experts must be in 0..4096, got " + std::to_string(c.n_experts));
  require(c.n_domains >= 0 && c.n_domains <= 65536,
          "n_domains must be in 0..65536, got " + std::to_string(c.n_domains));
  require(c.coef_hidden >= 1 && c.coef_hidden <= 65536,
          "coef_hidden must be in 1..65536, got " + std::to_string(c.coef_hidden));
  require(c.expert_init_scale >= 0 && c.expert_init_scale <= 10,
          "expert_init_scale must be in 0..10");
  require(c.alpha_init_l1 >= 0 && c.alpha_init_l1 <= 1000, "alpha_init_l1 must be in 0..1000");
  require(c.alpha_centered == 0 || c.alpha_centered == 1, "alpha_centered must be 0 or 1");
  require(c.expert_lr_scale >= 0 && c.expert_lr_scale <= 100, "expert_lr_scale must be in 0..100");
  require(c.expert_lr_scale_start >= 0 && c.expert_lr_scale_start <= 100,
          "expert_lr_scale_start must be in 0..100 (0 = the experts' rate is constant)");
  require(c.expert_lr_scale_start == 0 || c.expert_lr_scale > 0,
          "expert_lr_scale_start needs expert_lr_scale > 0 (the rate it rises to)");
  require(c.coef_lr_scale >= 0 && c.coef_lr_scale <= 100, "coef_lr_scale must be in 0..100");
  require(c.expert_rank >= 0 && c.expert_rank <= 4096,
          "expert_rank must be in 0..4096 (0 = full experts), got " + std::to_string(c.expert_rank));
}

int support_max_for(const TrainConfig& c, int k) {
  return c.support_max > 0 ? c.support_max : std::max(4, k / 5);
}

int h_groups_per_step(const TrainConfig& c) {
  if (c.h_per_step == 0) return c.batch_size;
  for (int g = std::min(c.h_per_step, c.batch_size); g > 1; --g)
    if (c.batch_size % g == 0) return g;
  return 1;
}

void validate(const TrainConfig& c) {
  require(is_trainable_kind(c.kind),
          std::string("kind must be soup, dense or moe, got \"") + model_kind_name(c.kind) + "\"");
  require(c.steps >= 1, "steps must be >= 1");
  require(c.batch_size >= 1 && c.batch_size <= 65536, "batch_size must be in 1..65536");
  require(c.lr > 0 && c.lr < 10, "lr must be in (0, 10)");
  require(c.min_lr_ratio >= 0 && c.min_lr_ratio <= 1, "min_lr_ratio must be in [0, 1]");
  require(c.warmup_steps >= 0, "warmup_steps must be >= 0");
  require(c.weight_decay >= 0, "weight_decay must be >= 0");
  require(c.beta1 >= 0 && c.beta1 < 1 && c.beta2 >= 0 && c.beta2 < 1, "betas must be in [0, 1)");
  require(c.adam_eps > 0, "adam_eps must be > 0");
  require(c.log_interval >= 1, "log_interval must be >= 1");
  require(c.eval_interval >= 1, "eval_interval must be >= 1");
  require(c.eval_windows >= 1, "eval_windows must be >= 1");
  require(c.checkpoint_interval >= 1, "checkpoint_interval must be >= 1");
  require(c.keep_checkpoints >= 1, "keep_checkpoints must be >= 1");
  require(c.meta_distribution == "sparse_dirichlet" || c.meta_distribution == "dirichlet" ||
              c.meta_distribution == "onehot",
          "meta_distribution must be sparse_dirichlet, dirichlet or onehot, got \"" +
              c.meta_distribution + "\"");
  require(c.support_max >= 0, "support_max must be >= 1, or 0 for max(4, k / 5)");
  require(c.h_per_step >= 0, "h_per_step must be >= 0 (0 = one h per sequence), got " + std::to_string(c.h_per_step));
  require(c.precision == "fp32" || c.precision == "bf16",
          "precision must be fp32 or bf16, got \"" + c.precision + "\"");
  require(c.dense_mixture == "fixed" || c.dense_mixture == "sampled",
          "dense_mixture must be fixed or sampled, got \"" + c.dense_mixture + "\"");
  require(c.domain_prior == "uniform" || c.domain_prior == "size",
          "domain_prior must be uniform or size, got \"" + c.domain_prior + "\"");
  require(c.threads >= 0, "threads must be >= 0");
}

void validate(const MoeConfig& c) {
  require(c.n_experts >= 1 && c.n_experts <= 1024,
          "moe.n_experts must be in 1..1024, got " + std::to_string(c.n_experts));
  require(c.top_k == 1 || c.top_k == 2, "moe.top_k must be 1 (Switch) or 2 (GShard), got " +
                                            std::to_string(c.top_k));
  require(c.top_k <= c.n_experts, "moe.top_k (" + std::to_string(c.top_k) +
                                      ") exceeds moe.n_experts (" + std::to_string(c.n_experts) + ")");
  require(c.every >= 1 && c.every <= 256, "moe.every must be in 1..256, got " + std::to_string(c.every));
  // Below 1/E of the fair share no expert could hold even one token of a small batch.
  require(c.capacity_factor_train > 0 && c.capacity_factor_train <= 64,
          "moe.capacity_factor_train must be in (0, 64]");
  require(c.capacity_factor_eval > 0 && c.capacity_factor_eval <= 64,
          "moe.capacity_factor_eval must be in (0, 64]");
  require(c.balance_coef >= 0 && c.balance_coef <= 10, "moe.balance_coef must be in [0, 10]");
  require(c.z_loss_coef >= 0 && c.z_loss_coef <= 10, "moe.z_loss_coef must be in [0, 10]");
}

void validate(const RunConfig& c) {
  validate(c.model);
  validate(c.bank);
  validate(c.moe);
  validate(c.train);
  if (c.train.kind == ModelKind::kMoe)
    require(c.moe.every <= c.model.n_layer,
            "moe.every (" + std::to_string(c.moe.every) + ") exceeds n_layer (" +
                std::to_string(c.model.n_layer) + "): no block would be a MoE block");
}

}  // namespace souplab
