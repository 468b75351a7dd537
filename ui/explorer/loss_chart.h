#pragma once
// Per-domain validation loss as grouped bars: the live specialist next to a reference (the
// generic model at uniform h, or whatever the user chose with "Compare with…"). Domain names
// are the x tick labels, rotated 45° for a dozen names and 90° beyond two dozen. The chart shows
// the domains of its view (the explorer's filter), all of them by default; losses are always
// given for every domain. When the view has more domains than the width holds legibly (one
// bar group per ~20 px), it pages: "◀ 1–24 of 64 ▶" under the plot. Whiskers on the
// specialist's bars show the standard error of its difference from the reference (paired on
// the same windows), and a caption under the plot says what the bars rest on. A target text
// ("Specialist for this text") gets a bar group of its own, first on every page.
#include <QString>
#include <QStringList>
#include <QWidget>
#include <utility>
#include <vector>

class QCustomPlot;
class QLabel;
class QToolButton;
class QCPBars;
class QCPBarsGroup;
class QCPErrorBars;

namespace souplab::gui {

class LossChart : public QWidget {
  Q_OBJECT

 public:
  explicit LossChart(QWidget* parent = nullptr);

  void setDomains(const QStringList& names);  // clears both bar sets; the view: every domain
  // The domains to draw, in this order (indices into the names); empty: none.
  void setView(const std::vector<int>& indices);
  const std::vector<int>& view() const { return m_view; }
  // The part of the view on screen now (all of it unless it pages), and paging.
  std::vector<int> pageDomains() const;
  int pageCount() const;
  int page() const { return m_page; }
  void setPage(int page);
  void setSpecialistLosses(const std::vector<double>& losses);
  void setReferenceLosses(const std::vector<double>& losses, const QString& label);
  // Every domain's standard error of (specialist - reference), drawn as +-1 SE whiskers on the
  // specialist's bars (NaN: none for that domain); empty clears them.
  void setUncertainty(const std::vector<double>& se);
  void setCaption(const QString& text);  // under the plot: bytes per bar, refinement state
  // The target text's pair of bars (NaN: not known yet); an empty label removes it.
  void setTarget(const QString& label, double specialist, double reference);
  QString targetLabel() const { return m_targetLabel; }
  double targetSpecialist() const { return m_targetSpecialist; }
  double targetReference() const { return m_targetReference; }
  QString caption() const;
  // Renders and repaints now (not on the next event loop turn), so a caller can time the
  // slider-to-screen path up to pixels.
  void replotNow();

  QCustomPlot* plot() const { return m_plot; }
  QCPBars* specialistBars() const { return m_specialist; }
  QCPBars* referenceBars() const { return m_reference; }
  QCPErrorBars* errorBars() const { return m_errors; }

 Q_SIGNALS:
  // The domains on screen changed (view, page or width): the explorer's quick tier evaluates
  // only these, so that a move at k = 256 is as fast as one page of bars.
  void drawnDomainsChanged(const std::vector<int>& domains);

 private:
  void resizeEvent(QResizeEvent* event) override;
  int pageCapacity() const;  // bar groups that fit legibly in the current width
  // The bars `losses` get: (x key, index into losses) for each drawn domain with a loss.
  std::vector<std::pair<double, size_t>> barsOf(const std::vector<double>& losses) const;
  void setBars(QCPBars* bars, const std::vector<double>& losses);
  void setErrors();  // the whiskers for the specialist's bars as drawn
  void redraw();  // ticks and both bar sets from the view
  void rescale();

  QCustomPlot* m_plot = nullptr;
  QCPBars* m_specialist = nullptr;
  QCPBars* m_reference = nullptr;
  QCPBarsGroup* m_group = nullptr;
  QCPErrorBars* m_errors = nullptr;
  QLabel* m_caption = nullptr;
  QStringList m_domains;
  std::vector<int> m_view;
  int m_page = 0;
  std::vector<int> m_drawn;  // the domains the bars and ticks show (the page at the last redraw)
  QToolButton* m_prev = nullptr;
  QToolButton* m_next = nullptr;
  QLabel* m_pageLabel = nullptr;
  std::vector<double> m_specialistLosses, m_referenceLosses, m_se;  // every domain's
  QString m_targetLabel;  // empty: no target bar
  double m_targetSpecialist = 0, m_targetReference = 0;
  int firstDomainKey() const { return m_targetLabel.isEmpty() ? 0 : 1; }  // the target takes key 0
};

}  // namespace souplab::gui
