//===- Npy.cpp - NumPy .npy files -----------------------------------------===//
//
// The format: the magic "\x93NUMPY", a version, a little-endian header length
// (2 bytes in version 1, 4 in versions 2 and 3), then a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded so that
// the data starts on a 64-byte boundary, then the raw elements.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Runner/Npy.h"
#include "lowbit/Support/QuantMath.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mlir;
using namespace mlir::lowbit;

static llvm::Error npyError(StringRef name, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 name + ": " + message);
}

/// The value text of `key` in the header dict: what follows `'key':` up to
/// the next top-level comma or closing brace.
static std::optional<StringRef> findHeaderValue(StringRef header,
                                                StringRef key) {
  std::string quoted = ("'" + key + "'").str();
  size_t at = header.find(quoted);
  if (at == StringRef::npos)
    return std::nullopt;
  StringRef rest = header.drop_front(at + quoted.size()).ltrim();
  if (!rest.consume_front(":"))
    return std::nullopt;
  rest = rest.ltrim();
  size_t end = 0;
  int depth = 0;
  for (; end < rest.size(); ++end) {
    char c = rest[end];
    if (c == '(')
      ++depth;
    else if (c == ')')
      --depth;
    else if ((c == ',' || c == '}') && depth == 0)
      break;
  }
  return rest.take_front(end).trim();
}

static std::optional<DType> parseDescr(StringRef descr) {
  return llvm::StringSwitch<std::optional<DType>>(descr)
      .Cases({"<f4", "=f4"}, DType::f32)
      .Cases({"<f8", "=f8"}, DType::f64)
      .Cases({"<f2", "=f2"}, DType::f16)
      .Cases({"|i1", "<i1", "=i1"}, DType::i8)
      .Cases({"|u1", "<u1", "=u1", "|b1"}, DType::u8)
      .Cases({"<i2", "=i2"}, DType::i16)
      .Cases({"<i4", "=i4"}, DType::i32)
      .Cases({"<i8", "=i8"}, DType::i64)
      .Default(std::nullopt);
}

static StringRef getDescr(DType dtype) {
  switch (dtype) {
  case DType::f32:
  case DType::bf16: // Written widened.
  case DType::e8m0:
    return "<f4";
  case DType::f64:
    return "<f8";
  case DType::f16:
    return "<f2";
  case DType::i8:
    return "|i1";
  case DType::u8:
    return "|u1";
  case DType::i16:
    return "<i2";
  case DType::i32:
    return "<i4";
  case DType::i64:
    return "<i8";
  }
  llvm_unreachable("unknown dtype");
}

llvm::Expected<HostTensor> mlir::lowbit::parseNpy(StringRef contents,
                                                  StringRef name) {
  if (!contents.starts_with(StringRef("\x93NUMPY", 6)))
    return npyError(name, "not a .npy file (bad magic)");
  if (contents.size() < 10)
    return npyError(name, "truncated header");
  uint8_t major = contents[6];
  size_t headerLength, headerStart;
  if (major == 1) {
    headerLength = uint8_t(contents[8]) | (uint8_t(contents[9]) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (contents.size() < 12)
      return npyError(name, "truncated header");
    headerLength = uint32_t(uint8_t(contents[8])) |
                   (uint32_t(uint8_t(contents[9])) << 8) |
                   (uint32_t(uint8_t(contents[10])) << 16) |
                   (uint32_t(uint8_t(contents[11])) << 24);
    headerStart = 12;
  } else {
    return npyError(name, "unsupported .npy version " + llvm::Twine(major));
  }
  if (contents.size() < headerStart + headerLength)
    return npyError(name, "truncated header");
  StringRef header = contents.substr(headerStart, headerLength);

  std::optional<StringRef> descr = findHeaderValue(header, "descr");
  std::optional<StringRef> fortran = findHeaderValue(header, "fortran_order");
  std::optional<StringRef> shapeText = findHeaderValue(header, "shape");
  if (!descr || !fortran || !shapeText)
    return npyError(name, "header lacks descr, fortran_order or shape");
  StringRef descrValue = descr->trim("'\"");
  std::optional<DType> dtype = parseDescr(descrValue);
  if (!dtype)
    return npyError(name, "unsupported element type '" + descrValue +
                              "' (supported: f4, f8, f2, i1, u1, i2, i4, i8, "
                              "little-endian)");
  if (*fortran != "False")
    return npyError(name, "Fortran-ordered arrays are not supported; save a "
                          "C-ordered copy (numpy.ascontiguousarray)");
  StringRef shapeBody = *shapeText;
  if (!shapeBody.consume_front("(") || !shapeBody.consume_back(")"))
    return npyError(name, "malformed shape " + *shapeText);
  SmallVector<int64_t> shape;
  SmallVector<StringRef> parts;
  shapeBody.split(parts, ',', -1, /*KeepEmpty=*/false);
  for (StringRef part : parts) {
    int64_t extent;
    if (part.trim().getAsInteger(10, extent) || extent < 0)
      return npyError(name, "malformed shape " + *shapeText);
    shape.push_back(extent);
  }

  HostTensor tensor(*dtype, shape);
  size_t dataStart = headerStart + headerLength;
  size_t expected = tensor.getSizeInBytes();
  if (contents.size() - dataStart != expected)
    return npyError(name, "expected " + llvm::Twine(expected) +
                              " bytes of data for " + tensor.getTypeString() +
                              ", found " +
                              llvm::Twine(contents.size() - dataStart));
  std::memcpy(tensor.getData(), contents.data() + dataStart, expected);
  return tensor;
}

llvm::Expected<HostTensor> mlir::lowbit::readNpy(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return npyError(path, "cannot open: " + buffer.getError().message());
  return parseNpy((*buffer)->getBuffer(), path);
}

llvm::Error mlir::lowbit::writeNpy(StringRef path, const HostTensor &tensor) {
  std::string header;
  llvm::raw_string_ostream os(header);
  os << "{'descr': '" << getDescr(tensor.getDType())
     << "', 'fortran_order': False, 'shape': (";
  for (int64_t extent : tensor.getShape())
    os << extent << ", ";
  if (!tensor.getShape().empty())
    header.resize(header.size() - 2);
  if (tensor.getShape().size() == 1)
    header += ",";
  header += "), }";
  // Pad with spaces so that magic + version + length + header + '\n' is a
  // multiple of 64 bytes.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';

  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return npyError(path, "cannot write: " + ec.message());
  out.write("\x93NUMPY\x01\x00", 8);
  out << char(header.size() & 0xFF) << char(header.size() >> 8) << header;
  if (tensor.getDType() == DType::bf16 || tensor.getDType() == DType::e8m0) {
    for (int64_t i = 0; i < tensor.getNumElements(); ++i) {
      float value = static_cast<float>(tensor.getAsDouble(i));
      out.write(reinterpret_cast<const char *>(&value), sizeof(value));
    }
  } else {
    out.write(reinterpret_cast<const char *>(tensor.getData()),
              tensor.getSizeInBytes());
  }
  out.close();
  if (out.has_error())
    return npyError(path, "write failed: " + out.error().message());
  return llvm::Error::success();
}
