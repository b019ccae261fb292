//===- Gguf.h - GGUF metadata, tensors, dequantization ----------*- C++ -*-===//
//
// A reader for GGUF, the checkpoint format of llama.cpp and ggml, below the
// Llama mapping of readGguf(): the typed metadata, the tensor table, and the
// dequantization of ggml's block formats to f32. Plain C++ over LLVM Support.
//
// A GGUF file (versions 2 and 3, little endian) is
//   "GGUF", u32 version, u64 tensor count, u64 metadata count,
//   metadata: (string key, u32 value type, value)*,
//   tensor table: (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type,
//                  u64 offset)*,
//   padding to `general.alignment` (default 32), then the tensor data; each
//   tensor's offset is relative to the start of the data and aligned.
// Strings are a u64 length and bytes; an array is a u32 element type, a u64
// count and the elements. ne[0] varies fastest, so a tensor with dims
// [in, out] is a row-major [out, in] matrix, whose rows are consecutive runs
// of ne[0] / block-size blocks.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_IMPORT_GGUF_H
#define LOWBIT_IMPORT_GGUF_H

#include "lowbit/Import/Checkpoint.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lowbit {

//===----------------------------------------------------------------------===//
// ggml tensor types and dequantization
//===----------------------------------------------------------------------===//

/// ggml's tensor element types, numbered as in ggml.h (the numbers are what
/// GGUF stores; gaps are types ggml has retired).
enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
  NVFP4 = 40,
};

/// How a ggml type lays out its elements: `blockSize` elements are stored in
/// `blockBytes` bytes.
struct GgmlTypeInfo {
  GgmlType type;
  llvm::StringRef name;
  uint32_t blockSize;
  uint32_t blockBytes;
  /// Whether dequantizeRow() converts this type to f32.
  bool canDequantize;
};

/// The layout of ggml type number `type`; null when ggml has no such type.
const GgmlTypeInfo *getGgmlTypeInfo(uint32_t type);

/// "Q4_K (12)", or "unknown type 77" for numbers ggml does not define.
std::string describeGgmlType(uint32_t type);

/// Dequantizes `out.size()` consecutive values stored as blocks of `type` in
/// `blocks` (F32, F16, BF16, F64, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K,
/// Q4_K, Q5_K and Q6_K, with ggml's block layouts). `out.size()` must be a
/// multiple of the type's block size and `blocks` exactly as long as those
/// blocks; anything else is an error, as is a type that cannot be converted.
llvm::Error dequantizeRow(GgmlType type, llvm::ArrayRef<uint8_t> blocks,
                          llvm::MutableArrayRef<float> out);

/// IEEE half and bfloat16 bit patterns to f32 (exact).
float convertHalfToFloat(uint16_t bits);
float convertBFloat16ToFloat(uint16_t bits);

//===----------------------------------------------------------------------===//
// Metadata values
//===----------------------------------------------------------------------===//

/// GGUF's metadata value types, numbered as in the file.
enum class GgufValueType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

/// "uint32", "string", "array", ...; "unknown" past Float64.
llvm::StringRef getGgufValueTypeName(GgufValueType type);

/// One metadata value: a scalar, a string, or an array of one element type
/// (possibly of strings or of further arrays). Strings and array elements
/// point into the file's bytes, so a value lives as long as its GgufFile.
/// Accessors return std::nullopt when the value is of another kind.
class GgufValue {
public:
  GgufValue() = default;

  GgufValueType getType() const { return type; }
  bool isArray() const { return type == GgufValueType::Array; }

  /// Any integer type (not bool) whose value fits in int64_t.
  std::optional<int64_t> getInteger() const;
  /// Float32, Float64, or an integer type converted to double.
  std::optional<double> getFloat() const;
  std::optional<bool> getBool() const;
  std::optional<llvm::StringRef> getString() const;

  /// The element type and length of an array (UInt8 and 0 for non-arrays).
  GgufValueType getElementType() const { return elementType; }
  uint64_t getArraySize() const { return arraySize; }
  /// Element `index` of an array, decoded on demand; nullopt out of range.
  std::optional<GgufValue> getArrayElement(uint64_t index) const;
  /// Whole arrays of one kind of element (see the scalar accessors).
  std::optional<std::vector<int64_t>> getIntegerArray() const;
  std::optional<std::vector<double>> getFloatArray() const;
  std::optional<llvm::ArrayRef<llvm::StringRef>> getStringArray() const;
  std::optional<llvm::ArrayRef<GgufValue>> getNestedArrays() const;

  /// A scalar of a fixed-size type decoded from its little-endian bytes
  /// (`bytes` holds at least getGgufScalarSize(type) bytes).
  static GgufValue decodeScalar(GgufValueType type, const uint8_t *bytes);
  static GgufValue makeString(llvm::StringRef text);
  /// An array of fixed-size scalars over their raw little-endian bytes.
  static GgufValue makeScalarArray(GgufValueType elementType, uint64_t size,
                                   llvm::StringRef raw);
  static GgufValue makeStringArray(std::vector<llvm::StringRef> strings);
  static GgufValue makeNestedArray(std::vector<GgufValue> arrays);

private:
  GgufValueType type = GgufValueType::UInt8;
  GgufValueType elementType = GgufValueType::UInt8;
  /// Integers (sign-extended for signed types) and bools.
  uint64_t integer = 0;
  double real = 0.0;
  /// A string's bytes, or the raw elements of an array of scalars.
  llvm::StringRef bytes;
  uint64_t arraySize = 0;
  std::vector<llvm::StringRef> strings;
  std::vector<GgufValue> arrays;
};

/// The byte size of a fixed-size value type; 0 for String, Array and unknown.
uint64_t getGgufScalarSize(GgufValueType type);

struct GgufMetadataEntry {
  llvm::StringRef key;
  GgufValue value;
};

//===----------------------------------------------------------------------===//
// Tensors and files
//===----------------------------------------------------------------------===//

/// One entry of the tensor table, checked against the file when opened.
struct GgufTensorInfo {
  llvm::StringRef name;
  /// The ggml type number as stored (always one getGgmlTypeInfo() knows).
  uint32_t type = 0;
  /// ne[0], ne[1], ...: fastest varying first, as GGUF stores them.
  llvm::SmallVector<int64_t, 4> dims;
  /// From the start of the data section.
  uint64_t offset = 0;
  uint64_t numElements = 0;
  uint64_t numBytes = 0;

  GgmlType getType() const { return static_cast<GgmlType>(type); }
  /// The row-major shape: dims reversed ([in, out] -> [out, in]).
  std::vector<int64_t> getShape() const;
};

/// What a GGUF file says about its tokenizer, ready for Tokenizer's
/// factories.
struct GgufTokenizerData {
  /// tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama"
  /// (SentencePiece).
  std::string model;
  /// tokenizer.ggml.pre; "default" when absent.
  std::string preTokenizer = "default";
  std::vector<std::string> tokens;
  /// tokenizer.ggml.scores; zeros when absent.
  std::vector<float> scores;
  /// tokenizer.ggml.token_type; empty when absent (the factories infer).
  std::vector<TokenKind> kinds;
  /// tokenizer.ggml.merges, "left right" in rank order.
  std::vector<std::string> merges;
  SpecialTokens special;
};

/// An open GGUF file: its header, metadata and tensor table parsed and
/// checked, the tensor data mapped (not read) until dequantized.
class GgufFile {
public:
  /// Opens and checks `path`; every malformation is an error naming the
  /// file and what is wrong.
  static llvm::Expected<std::unique_ptr<GgufFile>> open(llvm::StringRef path);
  /// Parses a file image already in memory; its identifier names it in
  /// errors.
  static llvm::Expected<std::unique_ptr<GgufFile>>
  parse(std::unique_ptr<llvm::MemoryBuffer> buffer);

  llvm::StringRef getPath() const { return path; }
  uint32_t getVersion() const { return version; }
  uint64_t getAlignment() const { return alignment; }
  /// The file offset of the tensor data.
  uint64_t getDataOffset() const { return dataOffset; }

  /// Metadata in file order.
  llvm::ArrayRef<GgufMetadataEntry> getMetadata() const { return metadata; }
  /// The value under `key`, or null.
  const GgufValue *lookup(llvm::StringRef key) const;

  /// Typed lookups: an error naming the key when it is missing (for the
  /// forms without a default) or holds another kind of value.
  llvm::Expected<int64_t> getInteger(llvm::StringRef key) const;
  llvm::Expected<int64_t> getInteger(llvm::StringRef key,
                                     int64_t defaultValue) const;
  llvm::Expected<double> getFloat(llvm::StringRef key) const;
  llvm::Expected<double> getFloat(llvm::StringRef key,
                                  double defaultValue) const;
  llvm::Expected<bool> getBool(llvm::StringRef key) const;
  llvm::Expected<bool> getBool(llvm::StringRef key, bool defaultValue) const;
  llvm::Expected<llvm::StringRef> getString(llvm::StringRef key) const;
  llvm::Expected<llvm::StringRef> getString(llvm::StringRef key,
                                            llvm::StringRef defaultValue) const;
  llvm::Expected<llvm::ArrayRef<llvm::StringRef>>
  getStringArray(llvm::StringRef key) const;
  llvm::Expected<std::vector<int64_t>>
  getIntegerArray(llvm::StringRef key) const;
  llvm::Expected<std::vector<double>> getFloatArray(llvm::StringRef key) const;

  llvm::ArrayRef<GgufTensorInfo> getTensors() const { return tensors; }
  /// The tensor named `name`, or null.
  const GgufTensorInfo *findTensor(llvm::StringRef name) const;
  /// The stored bytes of `tensor` (in bounds: checked when opened).
  llvm::ArrayRef<uint8_t> getTensorData(const GgufTensorInfo &tensor) const;

  /// `tensor` as a row-major f32 tensor of shape tensor.getShape().
  llvm::Expected<FloatTensor> dequantize(const GgufTensorInfo &tensor) const;
  /// The same by name; an error when the file has no such tensor.
  llvm::Expected<FloatTensor> dequantize(llvm::StringRef name) const;

  /// The Llama hyper-parameters (general.architecture must be "llama"),
  /// checked with LlamaConfig::verify().
  llvm::Expected<LlamaConfig> readLlamaConfig() const;
  /// The tokenizer.ggml.* metadata; std::nullopt when the file carries no
  /// tokenizer (no tokenizer.ggml.model, or "none" / "no_vocab").
  llvm::Expected<std::optional<GgufTokenizerData>> readTokenizerData() const;

private:
  GgufFile() = default;
  llvm::Error parseAll();
  llvm::Error makeError(const llvm::Twine &message) const;

  std::unique_ptr<llvm::MemoryBuffer> buffer;
  std::string path;
  uint32_t version = 0;
  uint64_t alignment = 32;
  uint64_t dataOffset = 0;
  std::vector<GgufMetadataEntry> metadata;
  llvm::StringMap<size_t> metadataIndex;
  std::vector<GgufTensorInfo> tensors;
  llvm::StringMap<size_t> tensorIndex;
};

/// A tokenizer from GGUF tokenizer metadata: "gpt2" through
/// Tokenizer::createByteLevelBpe, "llama" through createSentencePiece.
llvm::Expected<std::unique_ptr<Tokenizer>>
createGgufTokenizer(GgufTokenizerData data);

} // namespace lowbit

#endif // LOWBIT_IMPORT_GGUF_H
