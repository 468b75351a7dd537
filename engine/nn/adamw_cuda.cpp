// AdamW::step_factored_cuda: the libtorch side of the GPU's fused expert step. It checks the
// tensors and hands raw pointers and the current stream to engine/cuda/factored_adamw.cu. The
// CPU build (no kernels) answers false, and AdamW materialises the gradient with tensor ops.
#include "engine/nn/adamw.h"

#ifdef SOUPLAB_WITH_CUDA
#include <c10/cuda/CUDAStream.h>

#include "engine/cuda/factored_adamw.h"
#endif

namespace souplab {

#ifdef SOUPLAB_WITH_CUDA
bool AdamW::step_factored_cuda(size_t i, float lr, float grad_scale, float bc1, float inv_sqrt_bc2) {
  auto& E = params_[i];
  const auto& f = factored_[i];
  const auto f32_on = [&](const torch::Tensor& t) {
    return t.is_cuda() && t.scalar_type() == torch::kFloat32 && t.device() == E.device() && t.is_contiguous();
  };
  if (!f32_on(E) || !f32_on(m_[i]) || !f32_on(v_[i])) return false;
  const auto A = f.A.to(E.device(), torch::kFloat32).contiguous();
  const auto D = f.D.to(E.device(), torch::kFloat32).contiguous();
  const auto mask = masks_[i].defined() ? masks_[i].to(E.device(), torch::kFloat32).contiguous() : torch::Tensor();
  TORCH_CHECK(!mask.defined() || mask.numel() == 1 || mask.numel() == D.size(1),
              "AdamW: a factored gradient's mask must be (P) or (1)");
  cuda::FactoredAdamWArgs a;
  a.E = E.data_ptr<float>();
  a.m = m_[i].data_ptr<float>();
  a.v = v_[i].data_ptr<float>();
  a.A = A.data_ptr<float>();
  a.D = D.data_ptr<float>();
  a.mask = mask.defined() ? mask.data_ptr<float>() : nullptr;
  a.mask_len = mask.defined() ? mask.numel() : 0;
  a.G = A.size(0);
  a.n = A.size(1);
  a.P = D.size(1);
  a.step_size = lr / bc1;
  a.decay = lr * float(o_.weight_decay);
  a.beta1 = float(o_.beta1);
  a.beta2 = float(o_.beta2);
  a.eps = float(o_.eps);
  a.grad_scale = grad_scale;
  a.inv_sqrt_bc2 = inv_sqrt_bc2;
  a.stream = c10::cuda::getCurrentCUDAStream(E.device().index()).stream();
  cuda::factored_adamw(a);  // A, D, mask stay alive until the stream has read them (caching allocator)
  return true;
}
#else
bool AdamW::step_factored_cuda(size_t, float, float, float, float) { return false; }
#endif

}  // namespace souplab
