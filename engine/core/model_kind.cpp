// The one place where model kind strings are read and written.
#include "souplab/model_kind.h"

namespace souplab {
namespace {

struct KindName {
  ModelKind kind;
  const char* name;
};

constexpr KindName kKindNames[] = {
#define SOUPLAB_MODEL_KIND_NAME(value, name) {ModelKind::value, name},
    SOUPLAB_MODEL_KINDS(SOUPLAB_MODEL_KIND_NAME)
#undef SOUPLAB_MODEL_KIND_NAME
};

}  // namespace

const char* model_kind_name(ModelKind kind) {
  for (const auto& k : kKindNames)
    if (k.kind == kind) return k.name;
  return "unknown";
}

std::optional<ModelKind> parse_model_kind(std::string_view name) {
  for (const auto& k : kKindNames)
    if (name == k.name) return k.kind;
  return std::nullopt;
}

bool is_trainable_kind(ModelKind kind) {
  return kind == ModelKind::kSoup || kind == ModelKind::kDense || kind == ModelKind::kMoe;
}

}  // namespace souplab
