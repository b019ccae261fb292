/*===- lowbit_cuda.h - Run LowBit's GPU kernels -------------------*- C -*-===*
 *
 * A small runtime over the CUDA driver API (loaded at run time, so programs
 * that link it start on machines without a GPU and get an error code). It
 * uses the primary context of a device, the one the CUDA runtime and
 * frameworks such as PyTorch use, so pointers they allocate can be passed
 * to LowBit's kernels directly. Every call returns 0 on success or a
 * non-zero code, with a message from lowbit_cuda_last_error().
 *
 *===----------------------------------------------------------------------===*/

#ifndef LOWBIT_C_LOWBIT_CUDA_H
#define LOWBIT_C_LOWBIT_CUDA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  LOWBIT_CUDA_OK = 0,
  LOWBIT_CUDA_NO_DRIVER = 1,   /* libcuda.so.1 missing or too old */
  LOWBIT_CUDA_NO_DEVICE = 2,   /* no such device */
  LOWBIT_CUDA_BAD_MODULE = 3,  /* the cubin could not be read or loaded */
  LOWBIT_CUDA_NO_KERNEL = 4,   /* the module has no kernel of that name */
  LOWBIT_CUDA_DRIVER_ERROR = 5 /* a driver call failed (see the message) */
};

typedef struct lowbit_cuda_module lowbit_cuda_module;

/* Loads a cubin (or fatbin) file onto `device`. */
int lowbit_cuda_load(const char *path, int device, lowbit_cuda_module **out);

/* Launches `kernel` on a 1-D grid with `args` (`count` device pointers or
 * 64-bit values) on `stream` (0: the default stream), with the context of
 * the module's device current. */
int lowbit_cuda_launch(lowbit_cuda_module *module, const char *kernel,
                       uint32_t grid, uint32_t block, const uint64_t *args,
                       size_t count, void *stream);

/* A kernel's handle, looked up once for launches in a loop, and its
 * launch (at most 16 arguments), with device 0's context current. */
int lowbit_cuda_get_kernel(lowbit_cuda_module *module, const char *name,
                           void **kernel);
int lowbit_cuda_launch_kernel(void *kernel, uint32_t grid, uint32_t block,
                              const uint64_t *args, size_t count, void *stream);
/* Streams of device 0. */
int lowbit_cuda_stream_create(void **stream);
int lowbit_cuda_stream_destroy(void *stream);
int lowbit_cuda_stream_synchronize(void *stream);
/* Records the launches issued on `stream` between begin and end (which
 * run nothing) as a graph; each graph_launch replays them on a stream. */
int lowbit_cuda_graph_begin(void *stream);
int lowbit_cuda_graph_end(void *stream, void **graph);
int lowbit_cuda_graph_launch(void *graph, void *stream);
int lowbit_cuda_graph_destroy(void *graph);
/* The name of device 0 (e.g. "NVIDIA H100 80GB HBM3"). */
int lowbit_cuda_device_name(char *name, size_t size);
/* Waits for device 0 (as do the memory functions below, on device 0). */
int lowbit_cuda_synchronize(void);

/* Device memory, for programs that have no allocator of their own. */
int lowbit_cuda_malloc(size_t bytes, uint64_t *out);
int lowbit_cuda_free(uint64_t pointer);
int lowbit_cuda_copy_to_device(uint64_t dst, const void *src, size_t bytes);
int lowbit_cuda_copy_to_host(void *dst, uint64_t src, size_t bytes);

int lowbit_cuda_copy_device(uint64_t dst, uint64_t src, size_t bytes);
int lowbit_cuda_memset(uint64_t dst, uint8_t value, size_t bytes);
void lowbit_cuda_unload(lowbit_cuda_module *module);

/* The message of the last failed call on this thread. */
const char *lowbit_cuda_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* LOWBIT_C_LOWBIT_CUDA_H */
