#pragma once
// Keeping a long session's memory flat (issue 28's soak). glibc gives each thread that allocates
// an arena of its own, up to 8 per core, and keeps what is freed in them; the app has a dozen
// threads that allocate tensors (GUI, inference service, generation, every fit job's new
// thread, training, OpenMP teams), so RSS climbed in steps as each kind of action first ran
// and kept creeping (+36 % over 25 minutes of the soak, no leak: it did not follow the action
// count). Fewer arenas, and freed pages handed back when a job ends, keep it near what is live.
namespace souplab::gui {

// Caps glibc's malloc arenas at the machine's cores (at least 2). Call first thing in main(),
// before threads start: arenas that exist stay. Returns false where there is no glibc.
bool capMallocArenas();

// Returns the free pages of every arena to the system (glibc malloc_trim). Called where a piece
// of work ends and its tensors are gone (a job's end, a generation's end). Returns false
// where nothing could be returned or there is no glibc.
bool returnFreedMemory();

}  // namespace souplab::gui
