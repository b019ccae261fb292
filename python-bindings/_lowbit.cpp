//===- _lowbit.cpp - Python bindings over liblowbit's C API ---------------===//
//
// A thin layer: every call goes through lowbit.h, errors become Python
// exceptions carrying lowbit_last_error()'s message.
//
//===----------------------------------------------------------------------===//

#include "lowbit-c/lowbit.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

/// The exception for a failed C API call, named by its status.
[[noreturn]] void raise(lowbit_status status) {
  std::string message = lowbit_last_error();
  switch (status) {
  case LOWBIT_ERROR_IO:
    throw py::value_error("I/O error: " + message);
  case LOWBIT_ERROR_FORMAT:
    throw py::value_error("bad artefact: " + message);
  case LOWBIT_ERROR_CONTEXT:
    throw py::index_error(message);
  case LOWBIT_ERROR_DEVICE:
    throw py::value_error("GPU error: " + message);
  default:
    throw py::value_error(message);
  }
}

void check(lowbit_status status) {
  if (status != LOWBIT_OK)
    raise(status);
}

class Model {
public:
  Model(const std::string &directory,
        const std::optional<std::string> &device) {
    check(lowbit_open_on(directory.c_str(), device ? device->c_str() : nullptr,
                         &model));
  }
  ~Model() { lowbit_close(model); }
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  void close() {
    lowbit_close(model);
    model = nullptr;
  }
  lowbit_model *get() const {
    if (!model)
      throw py::value_error("the model is closed");
    return model;
  }

  py::array_t<float> forward(const std::vector<int32_t> &tokens) {
    lowbit_model *m = get();
    int64_t count = int64_t(tokens.size()), vocab = lowbit_vocab_size(m);
    py::array_t<float> logits({count, vocab});
    lowbit_status status;
    {
      py::gil_scoped_release release;
      status = lowbit_forward(m, tokens.data(), count, logits.mutable_data());
    }
    check(status);
    return logits;
  }

  std::vector<int32_t> generate(const std::vector<int32_t> &prompt,
                                int64_t maxTokens, int32_t eos) {
    lowbit_model *m = get();
    std::vector<int32_t> out(std::max<int64_t>(maxTokens, 0));
    int64_t generated = 0;
    lowbit_status status;
    {
      py::gil_scoped_release release;
      status = lowbit_generate(m, prompt.data(), int64_t(prompt.size()),
                               maxTokens, eos, out.data(), &generated);
    }
    check(status);
    out.resize(generated);
    return out;
  }

private:
  lowbit_model *model = nullptr;
};

} // namespace

PYBIND11_MODULE(_lowbit, m) {
  m.doc() = "LowBit's runtime: run quant-compile artefacts";
  py::class_<Model>(m, "Model")
      .def(py::init<const std::string &, const std::optional<std::string> &>(),
           py::arg("directory"), py::arg("device") = py::none(),
           "Opens the artefact that quant-compile wrote into `directory`, on "
           "its own target by default; device='reference' runs a GPU "
           "artefact's step on the host.")
      .def("forward", &Model::forward, py::arg("tokens"),
           "Runs the tokens at the current position; returns their logits, "
           "a float32 array [len(tokens), vocab].")
      .def("generate", &Model::generate, py::arg("prompt"),
           py::arg("max_tokens"), py::arg("eos") = -1,
           "Greedy continuation of the prompt's token ids: up to max_tokens "
           "ids, stopping after eos.")
      .def(
          "reset", [](Model &self) { lowbit_reset(self.get()); },
          "Forgets the context: the next token is at position 0.")
      .def("close", &Model::close)
      .def_property_readonly(
          "vocab_size",
          [](const Model &self) { return lowbit_vocab_size(self.get()); })
      .def_property_readonly(
          "context_length",
          [](const Model &self) { return lowbit_context_length(self.get()); })
      .def_property_readonly("position", [](const Model &self) {
        return lowbit_position(self.get());
      });
}
