#pragma once
// What the explorer shows at one moment, as one immutable value (Qt Core only): the ExplorerSession
// publishes a new frame on every change, and the widget renders the whole of it. Nothing on
// screen comes from anywhere else, so the bars, the summary line, the target bar and the timings
// can never disagree about which h or which reference they belong to.
#include <QString>
#include <QtGlobal>
#include <limits>
#include <memory>
#include <vector>

namespace souplab {
class Specialist;
struct SoupInspection;
struct MixingRole;
}

namespace souplab::gui {

struct ExplorerFrame {
  // What the bars rest on: nothing yet, the quick tier's short windows, the full tier's first
  // windows, or a refinement round (more windows, paired with the reference window by window).
  enum class Tier { kNone, kQuick, kFull, kRefined };
  // What changed since the previous frame.
  enum class Change { kBank, kSpecialist, kReference, kRefined, kTarget };

  static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

  Change change = Change::kBank;
  quint64 generation = 0;     // the request the bars answer (0: none yet)
  std::vector<double> h;      // its domain weights, as requested (empty: none yet)
  std::shared_ptr<const souplab::Specialist> specialist;  // its model (null: none yet)
  bool newSpecialist = false;  // the model differs from the previous frame's (text restarts)
  // Inside the soup at h (full tier of a soup bank; null otherwise or before the full tier):
  // alpha(h), and the specialist's distance from S and from the uniform-h one per block and tensor.
  std::shared_ptr<const souplab::SoupInspection> inspection;
  // What plays alpha's part in a model that is not a soup (full tier; null for a soup, a plain
  // dense model, or before the full tier): a MoE's router load, the chosen expert, a merge's weights.
  std::shared_ptr<const souplab::MixingRole> mixing;

  Tier tier = Tier::kNone;
  std::vector<double> losses;     // the specialist's bars, per domain (NaN: not evaluated; empty: no data)
  std::vector<double> reference;  // the reference's bars, on the same windows
  std::vector<double> diffSe;     // refined rounds: standard error of each difference (else empty)
  QString referenceLabel;
  int refinedWindows = 0;                     // refined rounds: windows per domain
  qint64 fewestBytes = 0, mostBytes = 0;       // refined rounds: bytes a domain's pair rests on
  bool refinementDone = false;                 // no further round will come for this h

  // The specialist against the reference on h's own mixture (sum_d h_d loss_d).
  bool hasMixture = false;
  double mixtureSpecialist = 0, mixtureReference = 0;
  double mixtureChange = 0;      // relative; negative: the specialist is better
  double mixtureChangeSe = kNaN;  // its standard error; NaN before a refined round

  // A target text: both models' loss on it (NaN: being evaluated). Empty label: no target.
  QString targetLabel;
  double targetSpecialist = kNaN, targetReference = kNaN;

  // Costs of the bars on screen, and the slider-to-screen latency over this bank so far.
  double instantiateMs = 0, evalMs = 0;
  double lastLatencyMs = -1, medianLatencyMs = -1, medianFullLatencyMs = -1;  // -1: not measured
  int latencySamples = 0;
  bool twoTiers = false;  // this bank is evaluated in two tiers (quick, then full)
};

using FramePtr = std::shared_ptr<const ExplorerFrame>;

}  // namespace souplab::gui
