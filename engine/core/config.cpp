#include "engine/core/config.h"

#include <nlohmann/json.hpp>

#include "engine/core/error.h"

namespace souplab {
namespace {

using nlohmann::json;

// Binds struct fields to JSON keys once, for both directions, so the key lists cannot drift.
// Reading rejects unknown keys and values of the wrong type, naming the key and the source.
class Binder {
 public:
  Binder(json* out, const json* in, std::string where)
      : out_(out), in_(in), where_(std::move(where)) {}

  template <typename T>
  void field(const char* key, T& value) {
    if (out_) {
      (*out_)[key] = value;
      return;
    }
    seen_.push_back(key);
    auto it = in_->find(key);
    if (it == in_->end()) return;  // keep the default
    try {
      if constexpr (std::is_same_v<T, double>) {
        if (!it->is_number()) throw Error("expected a number");
      } else if constexpr (std::is_integral_v<T>) {
        if (!it->is_number_integer()) throw Error("expected an integer");
      } else if constexpr (std::is_same_v<T, std::string>) {
        if (!it->is_string()) throw Error("expected a string");
      }
      value = it->get<T>();
    } catch (const std::exception& e) {
      throw Error(where_ + ": key \"" + key + "\": " + e.what());
    }
  }

  void reject_unknown() const {
    if (!in_) return;
    for (auto it = in_->begin(); it != in_->end(); ++it) {
      if (std::find(seen_.begin(), seen_.end(), it.key()) == seen_.end())
        throw Error(where_ + ": unknown key \"" + it.key() + "\"");
    }
  }

 private:
  json* out_;
  const json* in_;
  std::string where_;
  std::vector<std::string> seen_;
};

void bind(Binder& b, ModelConfig& c) {
  b.field("vocab_size", c.vocab_size);
  b.field("block_size", c.block_size);
  b.field("n_layer", c.n_layer);
  b.field("n_head", c.n_head);
  b.field("n_embd", c.n_embd);
}

void bind(Binder& b, BankConfig& c) {
  b.field("n_experts", c.n_experts);
  b.field("n_domains", c.n_domains);
  b.field("coef_hidden", c.coef_hidden);
  b.field("expert_init_scale", c.expert_init_scale);
  b.field("alpha_init_l1", c.alpha_init_l1);
  b.field("alpha_centered", c.alpha_centered);
  b.field("expert_lr_scale", c.expert_lr_scale);
  b.field("coef_lr_scale", c.coef_lr_scale);
  b.field("expert_rank", c.expert_rank);
}

void bind(Binder& b, MoeConfig& c) {
  b.field("n_experts", c.n_experts);
  b.field("top_k", c.top_k);
  b.field("every", c.every);
  b.field("capacity_factor_train", c.capacity_factor_train);
  b.field("capacity_factor_eval", c.capacity_factor_eval);
  b.field("balance_coef", c.balance_coef);
  b.field("z_loss_coef", c.z_loss_coef);
}

void bind(Binder& b, TrainConfig& c) {
  b.field("kind", c.kind);
  b.field("corpus_dir", c.corpus_dir);
  b.field("cache_dir", c.cache_dir);
  b.field("out_dir", c.out_dir);
  b.field("run_name", c.run_name);
  b.field("device", c.device);
  b.field("steps", c.steps);
  b.field("batch_size", c.batch_size);
  b.field("lr", c.lr);
  b.field("min_lr_ratio", c.min_lr_ratio);
  b.field("warmup_steps", c.warmup_steps);
  b.field("weight_decay", c.weight_decay);
  b.field("beta1", c.beta1);
  b.field("beta2", c.beta2);
  b.field("adam_eps", c.adam_eps);
  b.field("grad_clip", c.grad_clip);
  b.field("log_interval", c.log_interval);
  b.field("eval_interval", c.eval_interval);
  b.field("eval_windows", c.eval_windows);
  b.field("checkpoint_interval", c.checkpoint_interval);
  b.field("keep_checkpoints", c.keep_checkpoints);
  b.field("seed", c.seed);
  b.field("meta_distribution", c.meta_distribution);
  b.field("support_max", c.support_max);
  b.field("h_per_step", c.h_per_step);
  b.field("dense_mixture", c.dense_mixture);
  b.field("init_from", c.init_from);
  b.field("mixture", c.mixture);
  b.field("threads", c.threads);
}

template <typename T>
json dump(const T& c) {
  json j = json::object();
  Binder b(&j, nullptr, "");
  bind(b, const_cast<T&>(c));
  return j;
}

template <typename T>
T load(const json& j, const std::string& where) {
  if (!j.is_object()) throw Error(where + ": expected a JSON object");
  T c;
  Binder b(nullptr, &j, where);
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
  require(c.coef_lr_scale >= 0 && c.coef_lr_scale <= 100, "coef_lr_scale must be in 0..100");
  require(c.expert_rank >= 0 && c.expert_rank <= 4096,
          "expert_rank must be in 0..4096 (0 = full experts), got " + std::to_string(c.expert_rank));
}

void validate(const TrainConfig& c) {
  require(c.kind == "soup" || c.kind == "dense" || c.kind == "moe",
          "kind must be soup, dense or moe, got \"" + c.kind + "\"");
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
  require(c.support_max >= 1, "support_max must be >= 1");
  require(c.h_per_step >= 1 && c.batch_size % c.h_per_step == 0,
          "h_per_step must be >= 1 and divide batch_size (" + std::to_string(c.batch_size) + "), got " +
              std::to_string(c.h_per_step));
  require(c.dense_mixture == "fixed" || c.dense_mixture == "sampled",
          "dense_mixture must be fixed or sampled, got \"" + c.dense_mixture + "\"");
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
  if (c.train.kind == "moe")
    require(c.moe.every <= c.model.n_layer,
            "moe.every (" + std::to_string(c.moe.every) + ") exceeds n_layer (" +
                std::to_string(c.model.n_layer) + "): no block would be a MoE block");
}

}  // namespace souplab
