//go:build cgo && linux

package store

/*
#include <malloc.h>

static void mmapLargeBlocks(int bytes) {
#ifdef M_MMAP_THRESHOLD
	mallopt(M_MMAP_THRESHOLD, bytes);
#endif
}
*/
import "C"

// largeBlock is the size from which C allocations get pages of their
// own, given back to the system when freed.
const largeBlock = 1 << 20

// SQLite copies a bound blob and builds the row in C memory, so storing
// a 25 MB message allocates two 25 MB blocks. glibc serves blocks that
// large from its heap once one has been freed (its mmap threshold rises)
// and keeps them after they are freed too, in one heap per thread that
// made cgo calls: a daemon that stored a few large messages kept hundreds
// of megabytes it no longer used. A fixed threshold keeps every large
// block mapped on its own and unmapped when freed; small allocations,
// SQLite's usual ones, are served as before.
func init() {
	C.mmapLargeBlocks(largeBlock)
}
