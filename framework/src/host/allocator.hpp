#pragma once
// Freed activations kept for reuse instead of returned to the kernel.
//
// glibc's malloc gives every block above its mmap threshold (128 KiB, rising
// to at most 32 MiB as blocks are freed) a fresh mmap and unmaps it on free,
// so each forward's activations (a [12, 128, 3072] float32 FFN intermediate
// is 19 MB) page-fault in anew, zero-filled by the kernel: about a tenth of a
// BERT-base sensitivity sweep's time went to page faults (issue 14). With
// mmap off and a high trim threshold, freed blocks stay in the heap and the
// next forward's tensors reuse them. Peak memory is unchanged (the same
// tensors are alive at the peak); memory is returned at exit.
namespace mechlens::host {

// Process-wide; call once at program start (the CLI's main does).
void keep_freed_memory_for_reuse();

}  // namespace mechlens::host
