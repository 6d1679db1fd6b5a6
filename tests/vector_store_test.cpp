#include <gtest/gtest.h>

#include "support/fake_vector_store.h"
#include "support/vector_store_contract.h"
#include "vector/chroma_client.h"

namespace kb {
namespace {

TEST(FakeVectorStoreTest, HonoursTheVectorStoreContract) {
  test::FakeVectorStore fake;
  fake.max_batch_size = 100;
  test::RunVectorStoreContract(fake, "fake");
}

TEST(ChromaClientTest, EncodesEmbeddingsAsLittleEndianFloat32Base64) {
  std::vector<float> v{1.0f};  // 0x3f800000 -> bytes 00 00 80 3f
  EXPECT_EQ(EncodeEmbeddingBase64(v), "AACAPw==");
  std::vector<float> two{1.0f, -2.0f};
  EXPECT_EQ(EncodeEmbeddingBase64(two).size(), 12u);
}

TEST(ChromaClientTest, RejectsBadUrlsAndNames) {
  ChromaOptions o;
  o.url = "127.0.0.1:8000";
  EXPECT_EQ(ChromaClient::Create(o).status().code(), Status::Code::kInvalidArgument);
  o.url = "ftp://x";
  EXPECT_EQ(ChromaClient::Create(o).status().code(), Status::Code::kInvalidArgument);
  o.url = "http://127.0.0.1:8000";
  o.tenant = "a/b";
  EXPECT_EQ(ChromaClient::Create(o).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace kb
