/*===- lowbit.h - C API of LowBit's ahead-of-time artefacts -------*- C -*-===*\
|*                                                                            *|
|* An artefact is a directory written by quant-compile: the model's code as a *|
|* shared library (model.so), its weights as one mmap-able file (weights.bin) *|
|* and a manifest. liblowbit opens one and runs it; it needs neither LLVM nor *|
|* MLIR (the code calls the OpenMP runtime, libomp, when it is parallel).     *|
|* GPU artefacts (--target cuda) hold a cubin in place of model.so and run    *|
|* through liblowbit_cuda and the CUDA driver, one token a step.              *|
|*                                                                            *|
|* Every call that can fail returns a lowbit_status; lowbit_last_error() then *|
|* says what failed, in this thread, until the next failing call.             *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/

#ifndef LOWBIT_C_LOWBIT_H
#define LOWBIT_C_LOWBIT_H

#include <stdint.h>

#if defined(__GNUC__)
#define LOWBIT_API __attribute__((visibility("default")))
#else
#define LOWBIT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lowbit_status {
  LOWBIT_OK = 0,
  /** A file of the artefact is missing or cannot be read or mapped. */
  LOWBIT_ERROR_IO = 1,
  /** A file is truncated, corrupt, or of another format or version. */
  LOWBIT_ERROR_FORMAT = 2,
  /** A null pointer, a count below 1, or a token outside the vocabulary. */
  LOWBIT_ERROR_ARGUMENT = 3,
  /** The tokens would not fit in the model's context (its KV cache). */
  LOWBIT_ERROR_CONTEXT = 4,
  /** The GPU (its driver, memory or a kernel) failed, or there is none. */
  LOWBIT_ERROR_DEVICE = 5,
} lowbit_status;

typedef struct lowbit_model lowbit_model;

/** Opens the artefact in `directory`; on success *model owns it. */
LOWBIT_API lowbit_status lowbit_open(const char *directory, lowbit_model **model);

/** Opens the artefact on `device`: null for the artefact's own target;
 *  "cpu" for CPU artefacts; "cuda" (the GPU) or "reference" (the host
 *  reference of the same step, for checks) for GPU artefacts. */
LOWBIT_API lowbit_status lowbit_open_on(const char *directory,
                                        const char *device,
                                        lowbit_model **model);
/** Frees the model; null is allowed. */
LOWBIT_API void lowbit_close(lowbit_model *model);

/** The message of this thread's last failure ("" if none). */
LOWBIT_API const char *lowbit_last_error(void);

LOWBIT_API int64_t lowbit_vocab_size(const lowbit_model *model);
LOWBIT_API int64_t lowbit_context_length(const lowbit_model *model);
/** Tokens the model has seen since it was opened or reset. */
LOWBIT_API int64_t lowbit_position(const lowbit_model *model);
/** Forgets the context: the next token is at position 0. */
LOWBIT_API void lowbit_reset(lowbit_model *model);

/** Runs `count` tokens at the current position and writes their logits,
 *  count x vocab floats, to `logits` (which may be null if not needed). */
LOWBIT_API lowbit_status lowbit_forward(lowbit_model *model, const int32_t *tokens,
                             int64_t count, float *logits);

/** Greedy generation: runs the prompt, then up to `max_tokens` tokens, each
 *  the most likely after the previous, stopping after `eos` (if >= 0).
 *  Writes them to `out` (room for max_tokens) and their number to
 *  *generated. */
LOWBIT_API lowbit_status lowbit_generate(lowbit_model *model, const int32_t *prompt,
                              int64_t prompt_count, int64_t max_tokens,
                              int32_t eos, int32_t *out, int64_t *generated);

#ifdef __cplusplus
}
#endif

#endif /* LOWBIT_C_LOWBIT_H */
