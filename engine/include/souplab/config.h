#pragma once
// Configuration structs with their defaults: what trains in ~5-7 minutes on 2 CPU cores and
// where the specialists beat the equal-budget dense model. docs/DESIGN.md §2.3's demo size (4 layers,
// width 256, 540 steps) fits the same minutes but is far from trained there: on the 14-domain
// corpus its dense model reaches 2.32 nats/byte on held-out mixtures and its specialists are
// level with it on average (seed-to-seed spread ~5 points); 2 layers of width 64 trained 3,000
// steps reach 1.98, and their specialists beat the dense model at every seed tried
// (docs/RESULTS.md "Where the soup wins").
#include <cstdint>
#include <string>
#include <vector>

#include "souplab/model_kind.h"

namespace souplab {

// The base model: a GPT-2 layout decoder over bytes.
struct ModelConfig {
  int vocab_size = 256;   // bytes are tokens; fixed by the byte-level tokenisation
  int block_size = 256;   // context length T
  int n_layer = 2;        // transformer blocks
  int n_head = 4;         // attention heads; n_embd must divide by it
  int n_embd = 64;        // width C
};

// The Soup-of-Experts bank wrapped around the base model.
struct BankConfig {
  int n_experts = 8;      // n: expert parameter sets E_1..E_n (0 = plain dense model)
  int n_domains = 0;      // k: length of h; taken from the corpus when 0
  int coef_hidden = 256;  // hidden width of the coefficient MLP alpha = f(h)
  // Scale of the experts' random initialisation relative to the shared part's: experts start
  // small so that every specialist starts close to S and the bank trains like one model first.
  double expert_init_scale = 0.1;
  // Size of alpha(h) at initialisation: the mean over one-hot h of sum_j |alpha_j|. Adam moves
  // every expert by ~lr * expert_lr_scale per step whatever alpha is, so theta moves by about
  // lr * (1 + expert_lr_scale * sum_j |alpha_j|). (At unit-RMS alpha, sum |alpha_j| was ~6 for
  // n = 8; docs/RESULTS.md.) 0 keeps PyTorch's default Linear init for the coefficient MLP.
  double alpha_init_l1 = 1.0;
  // Measured worse at the default size (+1.0 % on held-out mixtures against -0.4 % without, four h
  // per step, experts at 0.125x), so off by default. 1: b2 starts at minus the mean of alpha over the one-hot h, so the one-hot specialists'
  // coefficients sum to zero: the soup near uniform h starts as S (the generic model) and each
  // domain pulls its experts in its own direction instead of every domain sharing one common
  // offset (with ReLU features all one-hot alphas are ~0.3-correlated, so every step's gradient
  // would move every specialist alike). 0: b2 = 0.
  int alpha_centered = 0;
  // Learning rates of the experts E and of the coefficient MLP, relative to train.lr (S always
  // trains at train.lr). Adam normalises each tensor's gradient, so every expert moves by ~lr per
  // step however small its alpha_j is, and every coefficient-MLP weight does too, which swings
  // alpha (and so theta) by far more than a dense step. At 4 x 256 x 540 steps (the default until
  // 2026-11-30), k = 14 and four h
  // per step, specialists against the equal-budget dense model went (held-out mixtures) +12.5 %
  // at 1, +1.8 % at 0.5, -0.4 % at 0.125, -3.2 % at 0.0625, -3.9 % at 1/32 and -3.2 % at 1/64
  // (docs/RESULTS.md): 1/32 was best at that size (at 4 domains, L2 C128, 0.125 had been best).
  // One seed each: a second and third seed of the default moved the mixtures figure by ~2-3
  // points (docs/RESULTS.md "Across seeds"), so only the large steps of this list are firm.
  // At today's default size (2 x 64, 3,000 steps, capacity-bound) the experts want much more.
  // Seed 1337, against the same dense model (mixtures / one-hot / targets): 1/32 -3.2 / -4.9 /
  // -3.4 %, 1/8 -5.4 / -8.0 / -5.9 %, 1/4 -8.2 / -11.2 / -9.3 %, 1/2 -9.2 / -12.6 / -9.8 %,
  // 1 -8.6 / -12.2 / -9.9 % (the seed-to-seed spread is ~1 point; docs/RESULTS.md has the other
  // seeds). An undertrained model wants its specialists near S; a capacity-bound one wants them
  // to move as fast as S does.
  double expert_lr_scale = 0.5;
  // > 0: the experts' rate warms up over the run, from expert_lr_scale_start at step 0 to
  // expert_lr_scale at the last step, geometrically (scale = start * (end / start)^(step / steps)).
  // Why: at 3.3 M parameters slow experts (1/16) are what lets the bank get through its first
  // thousand steps, and the same slow rate then starves them while S keeps fitting the mixture
  // (the soup's edge fell from 1.7 % to 0.2 % over 3,000 steps). Measured there (3,000 steps, one
  // seed, held-out targets / one-hot against the dense model): constant 1/16 -0.2 / -1.8 %,
  // constant 1/4 -0.6 / -2.3 %, 1/16 rising to 1/2 -1.6 / -3.9 % (docs/RESULTS.md). Not a default
  // yet (one seed, one size). 0: constant.
  double expert_lr_scale_start = 0;
  double coef_lr_scale = 0.1;
  // Low-rank experts (docs/DESIGN.md §1.1.6, the paper's cheaper bank): 0 = full experts (E_j has the
  // base model's P floats); r > 0 = every weight matrix W (in x out) of E_j is U_j V_j with U_j
  // (in x r) and V_j (r x out), vectors (biases, norms) stay full. About P/(r*(in+out)/(in*out))
  // times fewer floats per expert, so more experts fit the same memory.
  int expert_rank = 0;
};

// The sparse mixture-of-experts (docs/DESIGN.md §1.2), used when train.kind is "moe": the base model
// with the MLP of every `every`-th block replaced by n_experts expert MLPs and a router.
struct MoeConfig {
  int n_experts = 8;               // E experts per MoE block
  // Experts per token. 2 (GShard, gates of the pair renormalised) by default: at the demo's
  // small E the second expert is cheap, and with k = 1 a token dropped by its one expert gets
  // no MLP at all, which hurts a small model more than the extra compute costs.
  int top_k = 2;
  int every = 1;                   // 1: every block is MoE; 2: every other block (1, 3, ...)
  double capacity_factor_train = 1.25;  // expert slots = ceil(cf * k * tokens / E)
  double capacity_factor_eval = 2.0;
  double balance_coef = 0.01;      // a of the load-balancing loss a * E * sum_i f_i * P_i
  double z_loss_coef = 1e-3;       // router z-loss: coef * mean(logsumexp(router logits)^2)
};

// A training run.
struct TrainConfig {
  ModelKind kind = ModelKind::kSoup;  // soup (the bank), dense (n = 0 baseline) or moe
  std::string corpus_dir;           // folder of domain folders
  std::string cache_dir;            // token cache; default: the user's cache dir
  std::string out_dir;              // checkpoints; default: <data dir>/runs/<run id>
  std::string run_name;             // shown in the run browser; default: kind + time
  std::string device = "auto";      // auto | cpu | cuda | cuda:i
  // fp32 | bf16: bf16 autocast of the forward pass on CUDA (its backward follows it); the bank,
  // the optimiser state and checkpoints stay float32. On the CPU a no-op, said once at start.
  std::string precision = "fp32";
  int64_t steps = 3000;             // optimiser steps: ~5-7 minutes of the default bank on 2 cores
  int batch_size = 16;              // sequences per step
  double lr = 2e-3;                 // peak learning rate
  double min_lr_ratio = 0.1;        // cosine decays to lr * min_lr_ratio
  int64_t warmup_steps = 50;        // linear warm-up
  double weight_decay = 0.1;        // AdamW decoupled decay on weight matrices only
  double beta1 = 0.9;
  double beta2 = 0.95;
  double adam_eps = 1e-8;
  double grad_clip = 1.0;           // global norm clip; <= 0 disables
  int64_t log_interval = 10;        // train loss / throughput every N steps
  int64_t eval_interval = 100;      // per-domain validation every N steps (and at the end)
  int eval_windows = 16;            // validation windows of block_size per domain (4k tokens at 256)
  int64_t checkpoint_interval = 100;  // save every N steps (and at the end / on stop)
  int keep_checkpoints = 3;         // keep the last K checkpoints
  uint64_t seed = 1337;
  // Meta-distribution pi over h for soup runs: sparse_dirichlet | dirichlet | onehot.
  std::string meta_distribution = "sparse_dirichlet";
  // s_max of the sparse Dirichlet (capped at k); 0 = by the number of domains k, max(4, k / 5)
  // (support_max_for): 4 up to k = 24, 12 at k = 64. Measured at the default size on the
  // held-out targets (docs/RESULTS.md "Clustered domains"): at k = 14 labelled domains 4 beat
  // 12 by 1.3 points; at k = 64 clusters 12 beat 4 by 0.8 and 32 by 1.4. A target of clustered
  // text spreads over more clusters than 4, and h's the soup never trained on fit it worse.
  int support_max = 0;
  // Domain weights drawn per step (soup runs): the batch splits into G equal groups, each drawn
  // from its own h ~ pi and run through its own specialist theta(h); G is the largest divisor of
  // batch_size not above h_per_step (16 and 4: 4 groups of 4; 6 and 4: 3 of 2), 0 = one h per
  // sequence. With one h a sparse h makes every batch come from at most s_max domains, so S sees
  // skewed, noisy gradients: at the default size and k = 14, one h per step left the specialists
  // 4-5 % behind the equal-budget dense model, and a dense model trained on the same per-step
  // mixtures was 4 % behind too; 4 per step is what measured best (one per sequence: ~1 point
  // worse; docs/RESULTS.md). The fused step (SoupBank + AdamW's factored gradient) makes G groups
  // cost about one. Checkpoints written before the key existed resume with 1.
  int h_per_step = 4;
  // Start S from a trained model instead of random values: a checkpoint (a dense run, or a soup's
  // uniform-h specialist) or an exported specialist folder of the same model size. The experts
  // keep their own initialisation (bank.expert_init_scale; 0 makes the soup start as that model).
  std::string init_from;
  // Dense runs: "fixed" trains on `mixture` (the prior below when empty); "sampled" draws each
  // step's mixtures from pi like a soup (a diagnostic for the skewed-batch effect).
  std::string dense_mixture = "fixed";
  // What "no preference among domains" means: "uniform" (every domain alike) or "size" (in
  // proportion to each domain's training tokens: the corpus's natural mixture). It is a dense
  // run's mixture when `mixture` is empty, and it weights how a soup's pi picks the domains of
  // each h (the sparse Dirichlet's support drawn in proportion to size, one-hot h likewise).
  // Labelled domains of similar sizes train alike either way; clusters of a raw corpus range
  // from kilobytes to megabytes, and uniform sampled an 8 KB cluster as often as a 5 MB one
  // (docs/RESULTS.md "Clustered domains"). Checkpoints written before the key resume with uniform.
  std::string domain_prior = "uniform";
  // Domain weights for dense runs: empty = uniform mixture (generic), else the oracle's h.
  std::vector<double> mixture;
  int threads = 0;                  // intra-op threads; 0 = libtorch's default
};

// Everything a run is made of; a config file holds
// {"model": {...}, "bank": {...}, "moe": {...}, "train": {...}},
// any section or key may be left out to keep its default.
struct RunConfig {
  ModelConfig model;
  BankConfig bank;
  MoeConfig moe;     // only used by kind "moe"
  TrainConfig train;
};

// JSON (de)serialisation. Parsing rejects unknown keys and wrong types with an Error naming
// the key, so a typo in a config file is never silently ignored. `source` names the file.
std::string to_json(const ModelConfig& c);
std::string to_json(const BankConfig& c);
std::string to_json(const TrainConfig& c);
std::string to_json(const MoeConfig& c);
MoeConfig parse_moe_config(const std::string& json, const std::string& source);
ModelConfig parse_model_config(const std::string& json, const std::string& source);
BankConfig parse_bank_config(const std::string& json, const std::string& source);
TrainConfig parse_train_config(const std::string& json, const std::string& source);
std::string to_json(const RunConfig& c);
RunConfig parse_run_config(const std::string& json, const std::string& source);

// Command-line flags of config keys. The flag, its help text and its default are declared with
// the key in config.cpp's table (the bind functions), so JSON, flags and --help cannot drift.
struct ConfigFlag {
  std::string section;       // "model", "bank", "moe" or "train"
  std::string key;           // "n_layer"
  std::string flag;          // "layers" (written --layers)
  std::string value_name;    // "N"
  std::string help;          // "transformer blocks"
  std::string default_text;  // the default, as --help shows it
};
// Every key that has a flag, in table order.
std::vector<ConfigFlag> config_flags();
// Sets the key of `flag` from its text, typed like the key (integer, number, string, model kind,
// or comma-separated numbers). Error "--flag expects ..., got "text"" for a malformed value, and
// for a flag no key has.
void set_config_flag(RunConfig& c, const std::string& flag, const std::string& text);

// Throws Error when the sizes are inconsistent (e.g. n_embd not divisible by n_head).
void validate(const ModelConfig& c);
void validate(const BankConfig& c);
void validate(const TrainConfig& c);
// The h drawn per soup step: train.h_per_step, or batch_size when it is 0 (one h per sequence).
int h_groups_per_step(const TrainConfig& c);
// The sparse Dirichlet's largest support over k domains: train.support_max when set, else
// max(4, k / 5) (see the key's comment).
int support_max_for(const TrainConfig& c, int k);
void validate(const MoeConfig& c);
void validate(const RunConfig& c);  // also: moe.every <= model.n_layer for kind "moe"

}  // namespace souplab
