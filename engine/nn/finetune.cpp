#include "souplab/finetune.h"

#include <chrono>

#include "souplab/error.h"
#include "souplab/specialist.h"
#include "engine/nn/adamw.h"
#include "engine/nn/gpt.h"
#include "souplab/device.h"
#include "engine/nn/target_text.h"
#include "souplab/trainer.h"
#include "engine/nn/validation.h"

namespace souplab {

FinetuneResult finetune_on_text(const DenseSpecialist& start, const std::string& target, const FinetuneOptions& o) {
  const auto t0 = std::chrono::steady_clock::now();
  if (o.steps < 0 || o.batch_size < 1 || !(o.lr > 0) || !(o.holdout > 0 && o.holdout < 1) || o.eval_windows < 1)
    throw Error("finetune: steps >= 0, batch >= 1, lr > 0, 0 < holdout < 1 and eval windows >= 1 are required");
  const std::vector<float> theta0 = start.parameters();
  const ModelConfig mc = start.model_config();
  const ParamLayout layout = gpt_param_layout(mc);
  const int64_t T = mc.block_size;
  // The training part, then the held-out end: each must hold at least one window.
  const std::string bytes = read_target_text(target, 256 << 20, 2 * (T + 1));
  const int64_t L = int64_t(bytes.size());
  const int64_t split = std::min<int64_t>(L - (T + 1), std::max<int64_t>(T + 1, int64_t(double(L) * (1.0 - o.holdout))));
  const auto eval = spread_windows(bytes, split, L, T, o.eval_windows);
  const torch::Device device(select_device(o.device).device);
  auto theta = torch::from_blob(const_cast<float*>(theta0.data()), {layout.total}).clone().to(device).requires_grad_(true);

  FinetuneResult r;
  r.model = mc;
  r.eval_windows = int(eval.size(0));
  r.loss_before = mean_window_loss(theta.detach(), mc, layout, eval);
  AdamWOptions ao;
  ao.weight_decay = o.weight_decay;
  AdamW opt({theta}, {decay_mask(layout).to(device)}, ao);
  TrainConfig sched;  // for learning_rate_at only
  sched.lr = o.lr;
  sched.steps = std::max<int64_t>(1, o.steps);
  sched.warmup_steps = std::max<int64_t>(1, o.steps / 10);
  sched.min_lr_ratio = 0.1;
  // Random windows of the training part, from a seeded generator: the same run every time.
  auto gen = torch::make_generator<torch::CPUGeneratorImpl>(o.seed);
  const auto text = torch::from_blob(const_cast<char*>(bytes.data()), {split}, torch::kUInt8);
  const auto offsets = torch::arange(T + 1, torch::kInt64);
  for (int64_t step = 0; step < o.steps; ++step) {
    auto starts = torch::randint(0, split - T, {o.batch_size, 1}, gen, torch::kInt64);
    auto batch = text.index({starts + offsets}).to(torch::kInt64).to(device);  // (B, T + 1)
    opt.zero_grad();
    auto loss = lm_loss(gpt_forward(theta, mc, layout, batch.narrow(1, 0, T)), batch.narrow(1, 1, T));
    loss.backward();
    opt.step(learning_rate_at(sched, step), grad_clip_scale({theta}, 1.0));
    r.steps = step + 1;
    if (o.progress && !o.progress(step + 1, o.steps, loss.item<double>())) {
      r.cancelled = true;
      break;
    }
  }
  theta = theta.detach();
  r.loss_after = mean_window_loss(theta, mc, layout, eval);
  auto host = theta.to(torch::kCPU).contiguous();
  r.theta.assign(host.data_ptr<float>(), host.data_ptr<float>() + host.numel());
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace souplab
