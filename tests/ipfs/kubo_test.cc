// kubo client and private-swarm launcher. The daemon tests need .tools/bin/ipfs
// (./scripts/setup installs it) and skip, saying so, without it.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crypto/cid.h"
#include "ipfs/kubo_client.h"
#include "ipfs/kubo_node.h"

namespace lucid::ipfs {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

fs::path TempDir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("lucid-ipfs-test-" + std::to_string(::getpid()) + "-" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Bytes RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

void WriteBytes(const fs::path& p, const Bytes& b) {
  std::ofstream out(p, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

TEST(KuboClientTest, ParsesApiAddresses) {
  auto a = ParseApiAddress("/ip4/127.0.0.1/tcp/5001");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 5001);
  auto b = ParseApiAddress("http://127.0.0.1:8080/");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->second, 8080);
  EXPECT_FALSE(ParseApiAddress("127.0.0.1").ok());
  EXPECT_FALSE(ParseApiAddress("127.0.0.1:99999").ok());
  EXPECT_FALSE(ParseApiAddress("/ip4/127.0.0.1/udp/5001").ok());
}

TEST(KuboClientTest, RefusesNonLoopbackApi) {
  auto c = KuboClient::Connect("10.0.0.5:5001");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("loopback"), std::string::npos);
  EXPECT_TRUE(KuboClient::Connect("localhost:5001").ok());
}

TEST(KuboNodeTest, SwarmKeyFormat) {
  fs::path dir = TempDir("key");
  const std::string key = (dir / "swarm.key").string();
  ASSERT_TRUE(WriteSwarmKey(key).ok());
  const std::string text = Slurp(key);
  EXPECT_EQ(text.rfind("/key/swarm/psk/1.0.0/\n/base16/\n", 0), 0u);
  EXPECT_EQ(text.size(), 31u + 64u + 1u);
  EXPECT_TRUE(CheckSwarmKey(key).ok());
  EXPECT_EQ(fs::status(key).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(WriteSwarmKey(key).code(), Code::kAlreadyExists);  // never overwritten
  std::ofstream(dir / "bad.key") << "/key/swarm/psk/1.0.0/\n/base16/\nxyz\n";
  EXPECT_FALSE(CheckSwarmKey((dir / "bad.key").string()).ok());
  fs::remove_all(dir);
}

TEST(KuboNodeTest, PrivateConfigHasNoPublicEndpoints) {
  // What `ipfs init` writes, reduced to the fields that could reach the public network.
  json init = {{"Addresses",
                {{"Swarm", {"/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/4001", "/ip4/0.0.0.0/udp/4001/quic-v1"}},
                 {"API", "/ip4/127.0.0.1/tcp/5001"},
                 {"Gateway", "/ip4/127.0.0.1/tcp/8080"}}},
               {"Bootstrap", {"/dnsaddr/bootstrap.libp2p.io/p2p/QmNnooDu7bfjPFoTZYxMNLWUQJyrVwtbZg5gBMjTezGAJN"}},
               {"Discovery", {{"MDNS", {{"Enabled", true}}}}},
               {"Routing", {{"Type", "auto"}, {"DelegatedRouters", {"auto"}}}},
               {"AutoConf", {{"Enabled", true}}}};
  KuboNodeOptions o;
  o.peers = {"/ip4/127.0.0.1/tcp/4101/p2p/12D3KooWLpeer"};
  auto out = ApplyPrivateConfig(init.dump(), o);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  json c = json::parse(*out);
  EXPECT_EQ(c["Bootstrap"], json::array());
  EXPECT_EQ(c["Discovery"]["MDNS"]["Enabled"], false);
  EXPECT_EQ(c["Routing"]["Type"], "none");
  EXPECT_EQ(c["Routing"]["DelegatedRouters"], json::array());
  EXPECT_EQ(c["AutoConf"]["Enabled"], false);
  EXPECT_EQ(c["Swarm"]["DisableNatPortMap"], true);
  EXPECT_EQ(c["Swarm"]["RelayClient"]["Enabled"], false);
  EXPECT_EQ(c["Swarm"]["RelayService"]["Enabled"], false);
  EXPECT_EQ(c["AutoNAT"]["ServiceMode"], "disabled");
  EXPECT_EQ(c["Plugins"]["Plugins"]["telemetry"]["Config"]["Mode"], "off");
  EXPECT_EQ(c["Addresses"]["Swarm"], json::array({"/ip4/127.0.0.1/tcp/0"}));
  EXPECT_EQ(c["Peering"]["Peers"][0]["ID"], "12D3KooWLpeer");
  EXPECT_EQ(c["Peering"]["Peers"][0]["Addrs"][0], "/ip4/127.0.0.1/tcp/4101");
  EXPECT_EQ(out->find("0.0.0.0"), std::string::npos);
  EXPECT_EQ(out->find("/ip6/"), std::string::npos);
  EXPECT_EQ(out->find("bootstrap.libp2p.io"), std::string::npos);
  o.peers = {"/ip4/127.0.0.1/tcp/4101"};
  EXPECT_FALSE(ApplyPrivateConfig(init.dump(), o).ok());
}

class KuboDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (FindKuboBinary().empty())
      GTEST_SKIP() << "kubo not installed (.tools/bin/ipfs missing): run ./scripts/setup to run the IPFS daemon tests";
    dir_ = TempDir("daemon");
    key_ = (dir_ / "swarm.key").string();
    ASSERT_TRUE(WriteSwarmKey(key_).ok());
  }
  void TearDown() override {
    b_.reset();
    a_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::unique_ptr<KuboNode> StartNode(const std::string& name, const std::string& key,
                                      std::vector<std::string> peers = {}) {
    KuboNodeOptions o;
    o.repo = (dir_ / name).string();
    o.swarm_key = key;
    o.peers = std::move(peers);
    auto node = std::make_unique<KuboNode>(o);
    Status s = node->Start();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return s.ok() ? std::move(node) : nullptr;
  }
  fs::path dir_;
  std::string key_;
  std::unique_ptr<KuboNode> a_, b_;
};

TEST_F(KuboDaemonTest, PrivateSwarmAddCatPin) {
  a_ = StartNode("a", key_);
  ASSERT_TRUE(a_);
  b_ = StartNode("b", key_, {a_->swarm_address()});
  ASSERT_TRUE(b_);
  EXPECT_EQ(a_->api_address().rfind("127.0.0.1:", 0), 0u);
  EXPECT_EQ(a_->swarm_address().rfind("/ip4/127.0.0.1/tcp/", 0), 0u);

  // The running config, as `ipfs config show` prints it: nothing public.
  const std::string config = Slurp(dir_ / "a" / "config");
  EXPECT_EQ(config.find("0.0.0.0"), std::string::npos);
  EXPECT_EQ(config.find("/ip6/"), std::string::npos);
  EXPECT_EQ(config.find("/dnsaddr/"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ / "a" / "swarm.key"));

  auto ca = a_->Client();
  auto cb = b_->Client();
  ASSERT_TRUE(ca.ok() && cb.ok());
  ASSERT_TRUE(cb->SwarmConnect(a_->swarm_address()).ok());

  // A small file: its IPFS CID is its Lucid CID.
  const Bytes small = RandomBytes(1000, 1);
  WriteBytes(dir_ / "small.bin", small);
  auto added_small = ca->AddFile((dir_ / "small.bin").string());
  ASSERT_TRUE(added_small.ok()) << added_small.status().ToString();
  EXPECT_EQ(added_small->ipfs_cid, crypto::Cid::Of(small).ToString());
  EXPECT_EQ(added_small->cid, crypto::Cid::Of(small));

  // A 3 MiB file: a dag-pb root over raw leaves.
  const Bytes big = RandomBytes(3u << 20, 2);
  WriteBytes(dir_ / "big.bin", big);
  auto added = ca->AddFile((dir_ / "big.bin").string());
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ(added->ipfs_cid.rfind("bafybei", 0), 0u) << added->ipfs_cid;
  EXPECT_EQ(added->cid, crypto::Cid::Of(big));
  EXPECT_EQ(added->size, big.size());
  auto pins_a = ca->PinLs();
  ASSERT_TRUE(pins_a.ok());
  EXPECT_NE(std::find(pins_a->begin(), pins_a->end(), added->ipfs_cid), pins_a->end());

  // B fetches through the swarm, checked against the whole-file CID.
  const std::string out = (dir_ / "out.bin").string();
  Status s = cb->CatToFile(added->ipfs_cid, added->cid, out, 16u << 20);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(fs::file_size(out), big.size());
  auto small_bytes = cb->Cat(added_small->ipfs_cid, added_small->cid, 1u << 20);
  ASSERT_TRUE(small_bytes.ok()) << small_bytes.status().ToString();
  EXPECT_EQ(*small_bytes, small);

  // The wrong expected CID: refused, nothing left on disk.
  s = cb->CatToFile(added->ipfs_cid, crypto::Cid::Of(small), out, 16u << 20);
  EXPECT_EQ(s.code(), Code::kDataLoss);
  EXPECT_NE(s.message().find("do not match the whole-file CID"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(out));
  // Above the size limit: refused.
  s = cb->CatToFile(added->ipfs_cid, added->cid, out, 1u << 20);
  EXPECT_EQ(s.code(), Code::kOutOfRange) << s.ToString();

  auto before = cb->IsPinned(added->ipfs_cid);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_FALSE(*before);
  ASSERT_TRUE(cb->PinAdd(added->ipfs_cid).ok());
  auto after = cb->IsPinned(added->ipfs_cid);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_TRUE(*after);
  auto pins_b = cb->PinLs();
  ASSERT_TRUE(pins_b.ok());
  EXPECT_NE(std::find(pins_b->begin(), pins_b->end(), added->ipfs_cid), pins_b->end());

  // A root no peer has: refused when the client's deadline passes, not waited for forever.
  {
    auto quick = KuboClient::Connect(b_->api_address(), std::chrono::seconds(2));
    ASSERT_TRUE(quick.ok());
    const Bytes nowhere = RandomBytes(100, 3);
    const auto t0 = std::chrono::steady_clock::now();
    Status missing = quick->CatToFile(crypto::Cid::Of(nowhere).ToString(), crypto::Cid::Of(nowhere), out, 1u << 20);
    EXPECT_EQ(missing.code(), Code::kUnavailable) << missing.ToString();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
    EXPECT_FALSE(fs::exists(out));
  }

  // B keeps the file after A is gone.
  a_->Stop();
  s = cb->CatToFile(added->ipfs_cid, added->cid, out, 16u << 20);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(KuboDaemonTest, OtherSwarmKeyCannotConnect) {
  a_ = StartNode("a", key_);
  ASSERT_TRUE(a_);
  const std::string other = (dir_ / "other.key").string();
  ASSERT_TRUE(WriteSwarmKey(other).ok());
  b_ = StartNode("b", other);
  ASSERT_TRUE(b_);
  auto cb = b_->Client();
  ASSERT_TRUE(cb.ok());
  Status s = cb->SwarmConnect(a_->swarm_address());
  EXPECT_FALSE(s.ok()) << "a node with another swarm key connected";
  auto peers = cb->SwarmPeers();
  ASSERT_TRUE(peers.ok());
  EXPECT_TRUE(peers->empty());
}

}  // namespace
}  // namespace lucid::ipfs
