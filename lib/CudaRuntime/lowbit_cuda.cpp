//===- lowbit_cuda.cpp - LowBit's runtime over the CUDA driver API --------===//
//
// The driver is opened with dlopen, so this library needs neither the CUDA
// toolkit nor a GPU to link or load; only the entry points used are
// declared, with the driver API's own types spelled as plain integers and
// pointers (their ABI since CUDA 4).
//
//===----------------------------------------------------------------------===//

#include "lowbit-c/lowbit_cuda.h"

#include <dlfcn.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {
using CUresult = int;
using CUdevice = int;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
using CUdeviceptr = unsigned long long;
using CUgraph = void *;
using CUgraphExec = void *;

struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, unsigned, CUstream,
                             void **, void **);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuStreamBeginCapture)(CUstream, int);
  CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
  CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph,
                                          unsigned long long);
  CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
  CUresult (*cuGraphExecDestroy)(CUgraphExec);
  CUresult (*cuGraphDestroy)(CUgraph);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuGetErrorString)(CUresult, const char **);
};

thread_local std::string lastError;

int failWith(int code, std::string message) {
  lastError = std::move(message);
  return code;
}

const Driver *driver(std::string &error) {
  static Driver table;
  static std::string loadError;
  static std::once_flag once;
  std::call_once(once, [] {
    void *handle = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
    if (!handle) {
      loadError = std::string("cannot open the CUDA driver libcuda.so.1: ") +
                  dlerror();
      return;
    }
    auto bind = [&](auto &slot, const char *name) {
      slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(
          dlsym(handle, name));
      if (!slot && loadError.empty())
        loadError = std::string("the CUDA driver lacks ") + name;
    };
    bind(table.cuInit, "cuInit");
    bind(table.cuDeviceGet, "cuDeviceGet");
    bind(table.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    bind(table.cuCtxSetCurrent, "cuCtxSetCurrent");
    bind(table.cuModuleLoadData, "cuModuleLoadData");
    bind(table.cuModuleUnload, "cuModuleUnload");
    bind(table.cuModuleGetFunction, "cuModuleGetFunction");
    bind(table.cuLaunchKernel, "cuLaunchKernel");
    bind(table.cuCtxSynchronize, "cuCtxSynchronize");
    bind(table.cuMemAlloc, "cuMemAlloc_v2");
    bind(table.cuMemFree, "cuMemFree_v2");
    bind(table.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
    bind(table.cuMemcpyDtoH, "cuMemcpyDtoH_v2");
    bind(table.cuMemcpyDtoD, "cuMemcpyDtoD_v2");
    bind(table.cuMemsetD8, "cuMemsetD8_v2");
    bind(table.cuStreamCreate, "cuStreamCreate");
    bind(table.cuStreamDestroy, "cuStreamDestroy_v2");
    bind(table.cuStreamSynchronize, "cuStreamSynchronize");
    bind(table.cuStreamBeginCapture, "cuStreamBeginCapture_v2");
    bind(table.cuStreamEndCapture, "cuStreamEndCapture");
    bind(table.cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags");
    bind(table.cuGraphLaunch, "cuGraphLaunch");
    bind(table.cuGraphExecDestroy, "cuGraphExecDestroy");
    bind(table.cuGraphDestroy, "cuGraphDestroy");
    bind(table.cuDeviceGetName, "cuDeviceGetName");
    bind(table.cuGetErrorString, "cuGetErrorString");
    if (loadError.empty() && table.cuInit(0) != 0)
      loadError = "cuInit failed: no usable GPU or driver";
  });
  error = loadError;
  return loadError.empty() ? &table : nullptr;
}

/// Checks a driver call; on failure records "what: message (code)".
bool check(const Driver &cu, CUresult result, const char *what) {
  if (result == 0)
    return true;
  const char *message = nullptr;
  cu.cuGetErrorString(result, &message);
  lastError = std::string(what) + " failed: " +
              (message ? message : "unknown error") + " (" +
              std::to_string(result) + ")";
  return false;
}

/// The driver with `device`'s primary context current on this thread. The
/// context is retained once per device and kept for the process's life.
const Driver *ready(int device, int &code) {
  std::string error;
  const Driver *cu = driver(error);
  if (!cu) {
    code = failWith(LOWBIT_CUDA_NO_DRIVER, error);
    return nullptr;
  }
  CUdevice handle;
  if (!check(*cu, cu->cuDeviceGet(&handle, device), "cuDeviceGet")) {
    code = LOWBIT_CUDA_NO_DEVICE;
    return nullptr;
  }
  static std::mutex mutex;
  static std::map<int, CUcontext> contexts;
  CUcontext context;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto [it, inserted] = contexts.try_emplace(device, nullptr);
    if (inserted &&
        !check(*cu, cu->cuDevicePrimaryCtxRetain(&it->second, handle),
               "cuDevicePrimaryCtxRetain")) {
      contexts.erase(it);
      code = LOWBIT_CUDA_DRIVER_ERROR;
      return nullptr;
    }
    context = it->second;
  }
  if (!check(*cu, cu->cuCtxSetCurrent(context), "cuCtxSetCurrent")) {
    code = LOWBIT_CUDA_DRIVER_ERROR;
    return nullptr;
  }
  code = LOWBIT_CUDA_OK;
  return cu;
}

/// Runs one driver call with device 0's context current and checks it.
template <typename Call> int callDriver(const char *what, Call call) {
  int code;
  const Driver *cu = ready(0, code);
  if (!cu)
    return code;
  return check(*cu, call(*cu), what) ? LOWBIT_CUDA_OK
                                     : LOWBIT_CUDA_DRIVER_ERROR;
}
} // namespace

struct lowbit_cuda_module {
  CUmodule module = nullptr;
  /// The device it was loaded on: launches and unloading make its context
  /// current first.
  int device = 0;
};

extern "C" {

int lowbit_cuda_load(const char *path, int device, lowbit_cuda_module **out) {
  if (!path || !out)
    return failWith(LOWBIT_CUDA_BAD_MODULE, "lowbit_cuda_load: null argument");
  *out = nullptr;
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return failWith(LOWBIT_CUDA_BAD_MODULE,
                    std::string(path) + ": cannot be read");
  std::vector<char> image((std::istreambuf_iterator<char>(file)),
                          std::istreambuf_iterator<char>());
  if (image.size() < 4 || image[0] != 0x7f || image[1] != 'E')
    return failWith(LOWBIT_CUDA_BAD_MODULE,
                    std::string(path) + ": not a cubin (no ELF header)");
  int code;
  const Driver *cu = ready(device, code);
  if (!cu)
    return code;
  auto *module = new lowbit_cuda_module;
  module->device = device;
  if (!check(*cu, cu->cuModuleLoadData(&module->module, image.data()),
             "cuModuleLoadData")) {
    delete module;
    lastError = std::string(path) + ": " + lastError;
    return LOWBIT_CUDA_BAD_MODULE;
  }
  *out = module;
  return LOWBIT_CUDA_OK;
}

int lowbit_cuda_launch(lowbit_cuda_module *module, const char *kernel,
                       uint32_t grid, uint32_t block, const uint64_t *args,
                       size_t count, void *stream) {
  if (!module || !kernel)
    return failWith(LOWBIT_CUDA_NO_KERNEL, "lowbit_cuda_launch: null module "
                                           "or kernel name");
  int code;
  const Driver *cu = ready(module->device, code);
  if (!cu)
    return code;
  CUfunction function;
  if (cu->cuModuleGetFunction(&function, module->module, kernel) != 0)
    return failWith(LOWBIT_CUDA_NO_KERNEL,
                    std::string("the module has no kernel ") + kernel);
  std::vector<uint64_t> values(args, args + count);
  std::vector<void *> pointers;
  for (uint64_t &value : values)
    pointers.push_back(&value);
  if (!check(*cu,
             cu->cuLaunchKernel(function, grid, 1, 1, block, 1, 1, 0,
                                static_cast<CUstream>(stream),
                                pointers.data(), nullptr),
             kernel))
    return LOWBIT_CUDA_DRIVER_ERROR;
  return LOWBIT_CUDA_OK;
}

int lowbit_cuda_get_kernel(lowbit_cuda_module *module, const char *name,
                           void **kernel) {
  if (!module || !name || !kernel)
    return failWith(LOWBIT_CUDA_NO_KERNEL,
                    "lowbit_cuda_get_kernel: null argument");
  int code;
  const Driver *cu = ready(module->device, code);
  if (!cu)
    return code;
  CUfunction function;
  if (cu->cuModuleGetFunction(&function, module->module, name) != 0)
    return failWith(LOWBIT_CUDA_NO_KERNEL,
                    std::string("the module has no kernel ") + name);
  *kernel = function;
  return LOWBIT_CUDA_OK;
}

int lowbit_cuda_launch_kernel(void *kernel, uint32_t grid, uint32_t block,
                              const uint64_t *args, size_t count,
                              void *stream) {
  if (!kernel)
    return failWith(LOWBIT_CUDA_NO_KERNEL,
                    "lowbit_cuda_launch_kernel: null kernel");
  // Up to 16 arguments without allocating (launches in a loop).
  uint64_t values[16];
  void *pointers[16];
  if (count > 16)
    return failWith(LOWBIT_CUDA_DRIVER_ERROR,
                    "lowbit_cuda_launch_kernel: more than 16 arguments");
  for (size_t i = 0; i < count; ++i) {
    values[i] = args[i];
    pointers[i] = &values[i];
  }
  return callDriver("cuLaunchKernel", [&](const Driver &cu) {
    return cu.cuLaunchKernel(static_cast<CUfunction>(kernel), grid, 1, 1, block,
                             1, 1, 0, static_cast<CUstream>(stream), pointers,
                             nullptr);
  });
}

int lowbit_cuda_stream_create(void **stream) {
  return callDriver("cuStreamCreate", [&](const Driver &cu) {
    return cu.cuStreamCreate(reinterpret_cast<CUstream *>(stream), 0);
  });
}

int lowbit_cuda_stream_destroy(void *stream) {
  return callDriver("cuStreamDestroy", [&](const Driver &cu) {
    return cu.cuStreamDestroy(static_cast<CUstream>(stream));
  });
}

int lowbit_cuda_stream_synchronize(void *stream) {
  return callDriver("cuStreamSynchronize", [&](const Driver &cu) {
    return cu.cuStreamSynchronize(static_cast<CUstream>(stream));
  });
}

int lowbit_cuda_graph_begin(void *stream) {
  // Thread-local capture: other threads' CUDA calls are not affected.
  return callDriver("cuStreamBeginCapture", [&](const Driver &cu) {
    return cu.cuStreamBeginCapture(static_cast<CUstream>(stream), 1);
  });
}

int lowbit_cuda_graph_end(void *stream, void **graph) {
  if (!graph)
    return failWith(LOWBIT_CUDA_DRIVER_ERROR,
                    "lowbit_cuda_graph_end: null graph");
  CUgraph captured = nullptr;
  int code = callDriver("cuStreamEndCapture", [&](const Driver &cu) {
    return cu.cuStreamEndCapture(static_cast<CUstream>(stream), &captured);
  });
  if (code != LOWBIT_CUDA_OK)
    return code;
  CUgraphExec exec = nullptr;
  code = callDriver("cuGraphInstantiate", [&](const Driver &cu) {
    return cu.cuGraphInstantiateWithFlags(&exec, captured, 0);
  });
  callDriver("cuGraphDestroy",
             [&](const Driver &cu) { return cu.cuGraphDestroy(captured); });
  *graph = exec;
  return code;
}

int lowbit_cuda_graph_launch(void *graph, void *stream) {
  return callDriver("cuGraphLaunch", [&](const Driver &cu) {
    return cu.cuGraphLaunch(static_cast<CUgraphExec>(graph),
                            static_cast<CUstream>(stream));
  });
}

int lowbit_cuda_graph_destroy(void *graph) {
  return callDriver("cuGraphExecDestroy", [&](const Driver &cu) {
    return cu.cuGraphExecDestroy(static_cast<CUgraphExec>(graph));
  });
}

int lowbit_cuda_device_name(char *name, size_t size) {
  return callDriver("cuDeviceGetName", [&](const Driver &cu) {
    return cu.cuDeviceGetName(name, int(size), 0);
  });
}

int lowbit_cuda_synchronize(void) {
  return callDriver("cuCtxSynchronize",
                    [](const Driver &cu) { return cu.cuCtxSynchronize(); });
}

int lowbit_cuda_malloc(size_t bytes, uint64_t *out) {
  return callDriver("cuMemAlloc", [&](const Driver &cu) {
    CUdeviceptr pointer = 0;
    CUresult result = cu.cuMemAlloc(&pointer, bytes);
    *out = pointer;
    return result;
  });
}

int lowbit_cuda_free(uint64_t pointer) {
  return callDriver("cuMemFree",
                    [&](const Driver &cu) { return cu.cuMemFree(pointer); });
}

int lowbit_cuda_copy_to_device(uint64_t dst, const void *src, size_t bytes) {
  return callDriver("cuMemcpyHtoD", [&](const Driver &cu) {
    return cu.cuMemcpyHtoD(dst, src, bytes);
  });
}

int lowbit_cuda_copy_to_host(void *dst, uint64_t src, size_t bytes) {
  return callDriver("cuMemcpyDtoH", [&](const Driver &cu) {
    return cu.cuMemcpyDtoH(dst, src, bytes);
  });
}

int lowbit_cuda_copy_device(uint64_t dst, uint64_t src, size_t bytes) {
  return callDriver("cuMemcpyDtoD", [&](const Driver &cu) {
    return cu.cuMemcpyDtoD(dst, src, bytes);
  });
}

int lowbit_cuda_memset(uint64_t dst, uint8_t value, size_t bytes) {
  return callDriver("cuMemsetD8", [&](const Driver &cu) {
    return cu.cuMemsetD8(dst, value, bytes);
  });
}

void lowbit_cuda_unload(lowbit_cuda_module *module) {
  if (!module)
    return;
  int code;
  if (const Driver *cu = ready(module->device, code))
    cu->cuModuleUnload(module->module);
  delete module;
}

const char *lowbit_cuda_last_error(void) { return lastError.c_str(); }

} // extern "C"
