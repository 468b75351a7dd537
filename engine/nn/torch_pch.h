#pragma once
// Precompiled header for engine/nn: libtorch costs ~11 s per translation unit without it.
#include <torch/torch.h>
