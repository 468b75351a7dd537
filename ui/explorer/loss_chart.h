#pragma once
// Per-domain validation loss as grouped bars: the live specialist next to a reference (the
// generic model at uniform h, or whatever the user chose with "Compare with…"). Domain names
// are the x tick labels, rotated so that a dozen long names fit.
#include <QString>
#include <QStringList>
#include <QWidget>
#include <vector>

class QCustomPlot;
class QCPBars;
class QCPBarsGroup;

namespace souplab::gui {

class LossChart : public QWidget {
  Q_OBJECT

 public:
  explicit LossChart(QWidget* parent = nullptr);

  void setDomains(const QStringList& names);  // clears both bar sets
  void setSpecialistLosses(const std::vector<double>& losses);
  void setReferenceLosses(const std::vector<double>& losses, const QString& label);
  // Renders and repaints now (not on the next event loop turn), so a caller can time the
  // slider-to-screen path up to pixels.
  void replotNow();

  QCustomPlot* plot() const { return m_plot; }
  QCPBars* specialistBars() const { return m_specialist; }
  QCPBars* referenceBars() const { return m_reference; }

 private:
  void setBars(QCPBars* bars, const std::vector<double>& losses);
  void rescale();

  QCustomPlot* m_plot = nullptr;
  QCPBars* m_specialist = nullptr;
  QCPBars* m_reference = nullptr;
  QCPBarsGroup* m_group = nullptr;
  QStringList m_domains;
};

}  // namespace souplab::gui
