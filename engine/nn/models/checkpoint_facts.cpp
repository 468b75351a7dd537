// The facts of a model read from a training checkpoint.
#include "engine/nn/models/openers.h"

namespace souplab {

ModelFacts checkpoint_facts(const ModelSource& source) {
  const TrainState& s = source.checkpoint->meta.state;
  ModelFacts f;
  f.path = source.path;
  f.kind = source.kind;
  f.run_id = s.run_id;
  f.run_name = s.run_name;
  f.step = s.step;
  f.domains = s.domains;
  f.config = s.config;
  f.counts = param_counts(s.config, int(s.domains.size()));
  f.device = source.torch_device.str();
  f.corpus_dir = s.config.train.corpus_dir;
  f.cache_dir = s.config.train.cache_dir;
  f.verified = source.checkpoint->file.integrity() == Integrity::kVerified;
  // A soup's training mixture is the mean of pi, uniform for every pi offered; the other kinds
  // trained on the config's mixture (uniform when it names none).
  if (f.kind == ModelKind::kSoup || s.config.train.mixture.empty())
    f.training_mixture = DomainWeights::uniform(f.domains);
  else
    f.training_mixture = DomainWeights(s.config.train.mixture, f.domains);
  return f;
}

}  // namespace souplab
