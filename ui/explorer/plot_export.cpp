#include "ui/explorer/plot_export.h"

#include <QBuffer>
#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>
#include <QPainter>
#include <QPdfWriter>
#include <QPixmap>
#include <QRegion>
#include <QWidget>
#include <exception>

#include "souplab/atomic_file.h"
#include "souplab/error.h"

namespace souplab::gui {

void writeWidgetImage(QWidget* widget, const QRect& area, const QString& path) {
  const QString suffix = QFileInfo(path).suffix().toLower();
  QByteArray bytes;
  QBuffer buffer(&bytes);
  buffer.open(QIODevice::WriteOnly);
  if (suffix == QLatin1String("pdf")) {
    QPdfWriter pdf(&buffer);
    pdf.setPageSize(QPageSize(area.size(), QPageSize::Point));
    pdf.setPageMargins(QMarginsF(0, 0, 0, 0));
    QPainter painter(&pdf);
    painter.scale(double(pdf.width()) / area.width(), double(pdf.height()) / area.height());
    widget->render(&painter, QPoint(), QRegion(area));
  } else if (suffix == QLatin1String("png")) {
    if (!widget->grab(area).save(&buffer, "PNG"))
      throw souplab::Error(path.toStdString() + ": could not encode the image");
  } else {
    throw souplab::Error(path.toStdString() + ": unknown image type \"" + suffix.toStdString() +
                         "\" (use .png or .pdf)");
  }
  souplab::write_file_atomically(path.toStdString(), bytes.toStdString());
}

void exportWithDialog(QWidget* parent, const QString& title, const QString& suggestedName,
                      const std::function<bool(const QString& path, QString* error)>& exportTo) {
  const QString path = QFileDialog::getSaveFileName(parent, title, suggestedName,
                                                    QObject::tr("CSV data (*.csv);;PNG image (*.png);;PDF (*.pdf)"));
  if (path.isEmpty()) return;
  QString error;
  if (!exportTo(path, &error)) QMessageBox::warning(parent, QObject::tr("Export"), error);
}

bool exportTableOrImage(const QString& path, QString* error, QWidget* widget, const QRect& area,
                        const std::function<std::string()>& csv) {
  try {
    if (QFileInfo(path).suffix().toLower() == QLatin1String("csv"))
      souplab::write_file_atomically(path.toStdString(), csv());
    else
      writeWidgetImage(widget, area, path);
    return true;
  } catch (const std::exception& e) {  // the messages name the file
    if (error) *error = QString::fromStdString(e.what());
    return false;
  }
}

}  // namespace souplab::gui
