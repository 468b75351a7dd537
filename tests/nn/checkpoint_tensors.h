#pragma once
// Every tensor of a checkpoint as float32, by name: what tests compare two checkpoints with.
#include <map>
#include <string>
#include <vector>

#include "engine/core/safetensors.h"

namespace test_util {

inline std::map<std::string, std::vector<float>> tensors_of(const std::string& ckpt) {
  const souplab::SafetensorsFile f = souplab::read_safetensors(ckpt);
  std::map<std::string, std::vector<float>> out;
  for (const auto& e : f.tensors()) out[e.name] = f.to_f32(e.name);
  return out;
}

}  // namespace test_util
