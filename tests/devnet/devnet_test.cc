// The devnet in-process: starts on a temp home and a free port, publishes the demo models,
// serves a real inference through the node, and comes back with the same state.
#include "devnet/devnet.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

namespace lucid::devnet {
namespace {

TEST(ParseDurationTest, UnitsAndRefusals) {
  EXPECT_EQ(ParseDuration("1s")->count(), 1000);
  EXPECT_EQ(ParseDuration("250ms")->count(), 250);
  EXPECT_EQ(ParseDuration("2")->count(), 2000);
  EXPECT_EQ(ParseDuration("1m")->count(), 60000);
  EXPECT_FALSE(ParseDuration("0s").ok());
  EXPECT_FALSE(ParseDuration("fast").ok());
  EXPECT_EQ(ParseDuration("1h")->count(), 3'600'000);  // the default limit is 1 h (block times)
  EXPECT_FALSE(ParseDuration("2h").ok());
  EXPECT_FALSE(ParseDuration("5000m").ok());
  EXPECT_FALSE(ParseDuration("1w").ok());
  const auto year = std::chrono::hours(24 * 365);
  EXPECT_EQ(ParseDuration("2h", year)->count(), 7'200'000);
  EXPECT_EQ(ParseDuration("1d", year)->count(), 86'400'000);
  EXPECT_FALSE(ParseDuration("366d", year).ok());
  EXPECT_FALSE(ParseDuration("18446744073709551615d", year).ok());  // no overflow to a small value
}

TEST(ParseHostPortTest, Forms) {
  auto a = ParseHostPort("127.0.0.1:26680");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 26680);
  EXPECT_EQ(ParseHostPort(":80")->first, "127.0.0.1");  // loopback unless told otherwise
  EXPECT_FALSE(ParseHostPort("localhost").ok());
  EXPECT_FALSE(ParseHostPort("h:99999").ok());
  EXPECT_FALSE(ParseHostPort("h:12ab").ok());
}

TEST(DevnetTest, StartsPublishesDemoModelsAndResumes) {
  std::random_device rd;
  auto home = std::filesystem::temp_directory_path() / ("lucid_devnet_" + std::to_string(rd()));
  DevnetOptions options;
  options.home = home.string();
  options.http_port = 0;
  options.block_time = std::chrono::milliseconds(50);
  std::string chain_id, mlp_cid;
  {
    Devnet net(options);
    auto info = net.Start();
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->chain_id, "lucid-devnet-1");
    ASSERT_EQ(info->demo_models.size(), 3u);
    EXPECT_EQ(info->demo_models[0].ref, "digits-mlp@1.0");
    EXPECT_EQ(info->demo_models[1].ref, "digits-cnn@1.0");
    EXPECT_EQ(info->demo_models[2].ref, "digits-mlp-int8@1.0");  // int8, with a zkml commitment
    EXPECT_EQ(info->dev_accounts.size(), 4u);
    EXPECT_EQ(info->api_url.rfind("http://127.0.0.1:", 0), 0u);
    chain_id = info->chain_id;
    mlp_cid = info->demo_models[0].manifest_cid;
    net.Stop();
  }
  {
    // A restart finds the same chain and does not publish again.
    Devnet net(options);
    auto info = net.Start();
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->chain_id, chain_id);
    EXPECT_EQ(info->demo_models[0].manifest_cid, mlp_cid);
    ASSERT_EQ(info->demo_models.size(), 3u);
    net.Stop();
  }
  std::filesystem::remove_all(home);
}

}  // namespace
}  // namespace lucid::devnet
