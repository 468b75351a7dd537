#pragma once
// A specialist for inference, theta = S + alpha^T E, summed in float32 and written once in the
// inference dtype (float32, bfloat16 or float16): one read of the bank and one write of the
// specialist per slider move, where addmv then a cast would write and read a float32 theta too.
// On CUDA it is engine/cuda/instantiate_cast.cu; elsewhere the CPU loop below, which is the
// kernel's reference (same order of operations, no fused multiply-adds: bit-equal results).
#include <torch/torch.h>

#include <optional>
#include <string>

namespace souplab {

// S (P), E (n, P), alpha (n), float32 on one device; dtype kFloat32, kBFloat16 or kFloat16.
// Returns (P) of dtype on that device.
torch::Tensor instantiate_cast(const torch::Tensor& S, const torch::Tensor& E, const torch::Tensor& alpha,
                               torch::ScalarType dtype);
// The CPU loop (the reference the CUDA kernel is tested against); CPU tensors only.
torch::Tensor instantiate_cast_cpu(const torch::Tensor& S, const torch::Tensor& E, const torch::Tensor& alpha,
                                   torch::ScalarType dtype);
// The CUDA kernel; false in the CPU build (or for tensors it does not take), out untouched.
bool instantiate_cast_cuda(const torch::Tensor& S, const torch::Tensor& E, const torch::Tensor& alpha,
                           torch::Tensor& out);

// "fp32" | "bf16" | "fp16" -> the dtype; nullopt for anything else.
std::optional<torch::ScalarType> parse_inference_precision(const std::string& name);
// The other way: kFloat32 -> "fp32", kBFloat16 -> "bf16", kFloat16 -> "fp16".
std::string precision_name(torch::ScalarType dtype);

}  // namespace souplab
