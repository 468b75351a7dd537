#pragma once
// Include this instead of <qcustomplot.h>: QCustomPlot 2.1's header uses Qt's `signals` and
// `foreach` keywords, which the project's QT_NO_KEYWORDS (needed by libtorch) turns off. The
// macros are restored to the keyword-free state right after.
#include <QtGlobal>

#pragma push_macro("signals")
#pragma push_macro("foreach")
#undef signals
#undef foreach
#define signals Q_SIGNALS
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef foreach
#pragma pop_macro("foreach")
#pragma pop_macro("signals")
