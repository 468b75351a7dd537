#pragma once
// Writing what a panel shows to a file, for every "Export…" of the explorer's views: a region of
// a widget as PNG or PDF (by the suffix), or text (CSV), each written atomically (a reader never
// sees half a file). writeWidgetImage throws souplab::Error naming the file and the problem;
// exportTableOrImage turns that into a message.
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
// By the suffix of `path`: .csv writes the text `csv` returns, .png / .pdf the `area` of
// `widget`; atomically. False with *error naming the file and the problem.
bool exportTableOrImage(const QString& path, QString* error, QWidget* widget, const QRect& area,
                        const std::function<std::string()>& csv);

}  // namespace souplab::gui
