#include "engine/nn/linear.h"

#include "engine/nn/cpu_gemm.h"

namespace souplab {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// w (in, out) as cpu_sgemm reads it: its own rows (op 'N'), or the rows of the (out, in)
// matrix it is the transpose of (op 'T').
struct Stored {
  const float* data;
  int64_t ld;
  char op;
};

bool storable(const torch::Tensor& w) { return w.is_contiguous() || w.t().is_contiguous(); }

Stored stored(const torch::Tensor& w) {
  if (w.is_contiguous()) return {w.data_ptr<float>(), w.size(1), 'N'};
  return {w.data_ptr<float>(), w.size(0), 'T'};  // w.t() is contiguous (out, in)
}

// y = x W (+ b); b undefined: no bias.
torch::Tensor forward_product(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  const int64_t N = x.size(0), in = x.size(1), out = w.size(1);
  auto y = torch::empty({N, out}, x.options());
  if (b.defined()) y.copy_(b.expand({N, out}));  // then C = x W + C
  const Stored s = stored(w);
  if (N > 0)
    cpu_sgemm('N', s.op, N, out, in, 1.0f, x.data_ptr<float>(), in, s.data, s.ld, b.defined() ? 1.0f : 0.0f,
              y.data_ptr<float>(), out);
  return y;
}

// The gradients of x and W (each only when asked for): dx = dy W^T, dW = x^T dy.
std::pair<torch::Tensor, torch::Tensor> backward_product(const torch::Tensor& x, const torch::Tensor& w,
                                                         const torch::Tensor& dy, bool want_dx, bool want_dw) {
  const int64_t N = x.size(0), in = x.size(1), out = w.size(1);
  torch::Tensor dx, dw;
  if (want_dx) {
    dx = torch::empty({N, in}, x.options());
    const Stored s = stored(w);
    if (N > 0)
      cpu_sgemm('N', s.op == 'N' ? 'T' : 'N', N, in, out, 1.0f, dy.data_ptr<float>(), out, s.data, s.ld, 0.0f,
                dx.data_ptr<float>(), in);
  }
  if (want_dw) {
    dw = torch::empty({in, out}, x.options());
    if (N > 0)
      cpu_sgemm('T', 'N', in, out, N, 1.0f, x.data_ptr<float>(), in, dy.data_ptr<float>(), out, 0.0f,
                dw.data_ptr<float>(), out);
    else
      dw.zero_();
  }
  return {dx, dw};
}

// Two autograd functions, with and without a bias: libtorch 1.13's Function::apply cannot take
// an undefined tensor as an input.
class SgemmLinear : public torch::autograd::Function<SgemmLinear> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, const torch::Tensor& w,
                               const torch::Tensor& b) {
    const torch::Tensor x = input.contiguous();
    ctx->save_for_backward({x, w});
    return forward_product(x, w, b);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor dy = grads[0].contiguous();
    auto [dx, dw] = backward_product(saved[0], saved[1], dy, ctx->needs_input_grad(0), ctx->needs_input_grad(1));
    return {dx, dw, ctx->needs_input_grad(2) ? dy.sum(0) : torch::Tensor()};
  }
};

class SgemmProduct : public torch::autograd::Function<SgemmProduct> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& input, const torch::Tensor& w) {
    const torch::Tensor x = input.contiguous();
    ctx->save_for_backward({x, w});
    return forward_product(x, w, torch::Tensor());
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    auto [dx, dw] = backward_product(saved[0], saved[1], grads[0].contiguous(), ctx->needs_input_grad(0),
                                     ctx->needs_input_grad(1));
    return {dx, dw};
  }
};

}  // namespace

torch::Tensor linear_layer(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  const auto fp32_cpu = [](const torch::Tensor& t) {
    return !t.defined() || (t.device().is_cpu() && t.scalar_type() == torch::kFloat32);
  };
  if (cpu_sgemm_enabled() && x.dim() == 2 && w.dim() == 2 && fp32_cpu(x) && fp32_cpu(w) && fp32_cpu(b) &&
      storable(w))
    return b.defined() ? SgemmLinear::apply(x, w, b) : SgemmProduct::apply(x, w);
  return b.defined() ? torch::addmm(b, x, w) : torch::mm(x, w);
}

}  // namespace souplab
