#pragma once
// Writing what a panel shows to a file, for every "Export…" of the explorer's views: a region of
// a widget as PNG or PDF (by the suffix), or text (CSV), each written atomically (a reader never
// sees half a file). Failures throw souplab::Error naming the file and the problem.
#include <QRect>
#include <QString>
#include <functional>
#include <string>

class QWidget;

namespace souplab::gui {

// `area` of `widget` (its coordinates) as PNG, or as one PDF page of that size.
void writeWidgetImage(QWidget* widget, const QRect& area, const QString& path);
// The panels' "Export…" dialog: asks for a CSV, PNG or PDF file (suggestedName first) and runs
// `exportTo` on it; a failure is shown with its message (which names the file).
void exportWithDialog(QWidget* parent, const QString& title, const QString& suggestedName,
                      const std::function<bool(const QString& path, QString* error)>& exportTo);
// Runs `write` (which throws on failure) and turns a failure into *error; false on failure.
template <typename Write>
bool exportOrExplain(Write&& write, QString* error);

}  // namespace souplab::gui

#include <exception>

template <typename Write>
bool souplab::gui::exportOrExplain(Write&& write, QString* error) {
  try {
    write();
    return true;
  } catch (const std::exception& e) {  // the messages name the file
    if (error) *error = QString::fromStdString(e.what());
    return false;
  }
}
