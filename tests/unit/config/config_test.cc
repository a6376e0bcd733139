#include "shardrec/config/config.h"

#include <google/protobuf/util/message_differencer.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "options.pb.h"
#include "shardrec/core/error.h"
#include "test_util.h"

namespace shardrec::config {
namespace {

using google::protobuf::util::MessageDifferencer;

ExperimentConfig Load(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return LoadConfigFromString(yaml, "configs/x.yaml", overrides);
}

std::string LoadError(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return testing::ErrorOf([&] { Load(yaml, overrides); });
}

std::vector<uint64_t> U64(const google::protobuf::RepeatedField<uint64_t>& r) { return {r.begin(), r.end()}; }
std::vector<uint32_t> U32(const google::protobuf::RepeatedField<uint32_t>& r) { return {r.begin(), r.end()}; }

// ---------------------------------------------------------------- defaults

TEST(ConfigDefaults, RepeatedDefaultsAndSubmessages) {
  const ExperimentConfig c = DefaultConfig();
  const auto& card = c.data().synthetic().cardinalities();
  ASSERT_EQ(card.size(), 26);
  EXPECT_EQ(card.Get(0), 10u);
  EXPECT_EQ(card.Get(13), 13000u);
  EXPECT_EQ(card.Get(25), 10000000u);
  for (int i = 1; i < card.size(); ++i) {
    const double ratio = static_cast<double>(card.Get(i)) / static_cast<double>(card.Get(i - 1));
    EXPECT_GT(ratio, 1.5) << i;  // log-uniform spacing: 10^(6/25) = 1.74 before rounding
    EXPECT_LT(ratio, 2.0) << i;
  }
  EXPECT_EQ(U32(c.model().dlrm().bottom_mlp()), (std::vector<uint32_t>{512, 256, 64, 16}));
  EXPECT_EQ(U32(c.model().dlrm().top_mlp()), (std::vector<uint32_t>{512, 256, 1}));
  EXPECT_TRUE(c.has_data() && c.data().has_synthetic() && c.has_embedding() && c.embedding().has_optimizer() &&
              c.has_model() && c.model().has_dlrm() && c.has_optimizer() && c.has_train());
  // Proto defaults apply, and scalars stay unset so has_*() means "set by the user".
  EXPECT_EQ(c.train().steps(), 1000u);
  EXPECT_FALSE(c.train().has_steps());
  EXPECT_EQ(c.data().source(), SYNTHETIC);
  EXPECT_EQ(c.embedding().optimizer().type(), ROWWISE_ADAGRAD);
  EXPECT_EQ(c.embedding().tables_size(), 0);
  EXPECT_NO_THROW(Validate(c));
  EXPECT_TRUE(MessageDifferencer::Equals(LoadConfig("", {}), c));
}

// ---------------------------------------------------------------- loading

TEST(ConfigLoad, NestedValuesEnumsAndLists) {
  const ExperimentConfig c = Load(R"(
name: small
data:
  source: criteo_tsv
  malformed: Skip
  synthetic:
    num_train_samples: 1e6
    cardinalities: [100, 200, 300]
    zipf_exponent: 1.2
embedding:
  default_dim: 8
  tables:
    - name: users
      rows: 5000
      dim: 32
      features: [0, 2]
      sharding: ROW_WISE
    - name: items
      features: [1]
      pooling: MEAN
      rank: 1
  optimizer:
    type: sparse_adam
    lr: 0.01
model:
  dlrm:
    bottom_mlp: [64, 8]
    interaction_self: true
optimizer:
  decay: COSINE
train:
  steps: 42
  output_dir: "runs/a b"
)");
  EXPECT_EQ(c.name(), "small");
  EXPECT_EQ(c.data().source(), CRITEO_TSV);
  EXPECT_EQ(c.data().malformed(), SKIP);
  EXPECT_EQ(c.data().synthetic().num_train_samples(), 1000000u);
  EXPECT_EQ(U64(c.data().synthetic().cardinalities()), (std::vector<uint64_t>{100, 200, 300}));
  EXPECT_DOUBLE_EQ(c.data().synthetic().zipf_exponent(), 1.2);
  EXPECT_EQ(c.embedding().default_dim(), 8u);
  ASSERT_EQ(c.embedding().tables_size(), 2);
  const TableConfig& users = c.embedding().tables(0);
  EXPECT_EQ(users.name(), "users");
  EXPECT_EQ(users.rows(), 5000u);
  EXPECT_EQ(users.dim(), 32u);
  EXPECT_EQ(U32(users.features()), (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(users.sharding(), ROW_WISE);
  EXPECT_EQ(users.pooling(), SUM);
  const TableConfig& items = c.embedding().tables(1);
  EXPECT_EQ(items.name(), "items");
  EXPECT_EQ(items.rows(), 0u);  // proto default inside a list element
  EXPECT_EQ(items.rank(), 1);
  EXPECT_EQ(items.pooling(), MEAN);
  EXPECT_EQ(items.sharding(), AUTO);
  EXPECT_EQ(c.embedding().optimizer().type(), SPARSE_ADAM);
  EXPECT_DOUBLE_EQ(c.embedding().optimizer().lr(), 0.01);
  EXPECT_EQ(U32(c.model().dlrm().bottom_mlp()), (std::vector<uint32_t>{64, 8}));
  EXPECT_EQ(U32(c.model().dlrm().top_mlp()), (std::vector<uint32_t>{512, 256, 1}));  // untouched default list
  EXPECT_TRUE(c.model().dlrm().interaction_self());
  EXPECT_EQ(c.optimizer().decay(), COSINE);
  EXPECT_EQ(c.train().steps(), 42u);
  EXPECT_TRUE(c.train().has_steps());
  EXPECT_EQ(c.train().output_dir(), "runs/a b");
  EXPECT_EQ(c.train().log_every(), 50u);
  EXPECT_FALSE(c.train().has_log_every());
}

TEST(ConfigLoad, EmptyListsAndEmptySections) {
  const ExperimentConfig c = Load("data:\n  synthetic:\n    cardinalities: []\n  train_path:\ntrain:\n# steps: 3\n");
  EXPECT_EQ(c.data().synthetic().cardinalities_size(), 0);
  EXPECT_EQ(c.data().train_path(), "");
  EXPECT_EQ(c.train().steps(), 1000u);
}

TEST(ConfigLoad, IntegerEdgeValues) {
  const ExperimentConfig c = Load(
      "train:\n  steps: 18446744073709551615\n  eval_every: 1e3\nembedding:\n  tables:\n    - {name: a, rank: -1}\n");
  EXPECT_EQ(c.train().steps(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(c.train().eval_every(), 1000u);
  EXPECT_EQ(c.embedding().tables(0).rank(), -1);
}

TEST(ConfigLoad, ReadsFileAndNamesItInErrors) {
  const std::string path = ::testing::TempDir() + "config_test_syntax.yaml";
  {
    std::ofstream out(path);
    out << "train:\n  steps: 7\n";
  }
  EXPECT_EQ(LoadConfig(path, {}).train().steps(), 7u);
  {
    std::ofstream out(path);
    out << "train:\n  stesp: 7\n";
  }
  EXPECT_EQ(testing::ErrorOf([&] { LoadConfig(path, {}); }),
            "unknown key 'train.stesp' (" + path + " line 2); did you mean 'train.steps'?");
  std::remove(path.c_str());
  EXPECT_EQ(testing::ErrorOf([] { LoadConfig("/nonexistent/shardrec.yaml", {}); }),
            "cannot read config file '/nonexistent/shardrec.yaml': No such file or directory");
}

// ---------------------------------------------------------------- errors

TEST(ConfigErrors, UnknownKeySuggestsClosest) {
  EXPECT_EQ(LoadError("train:\n  steps: 5\n  stesp: 6\n"),
            "unknown key 'train.stesp' (configs/x.yaml line 3); did you mean 'train.steps'?");
  EXPECT_EQ(LoadError("trian:\n  steps: 1\n"), "unknown key 'trian' (configs/x.yaml line 1); did you mean 'train'?");
  EXPECT_EQ(LoadError("train:\n  batch_size: 64\n"),
            "unknown key 'train.batch_size' (configs/x.yaml line 2); did you mean 'train.global_batch_size'?");
}

TEST(ConfigErrors, UnknownKeyInsideListElement) {
  EXPECT_EQ(LoadError("embedding:\n  tables:\n    - name: a\n    - name: b\n      dimm: 8\n"),
            "unknown key 'embedding.tables.1.dimm' (configs/x.yaml line 5); did you mean 'embedding.tables.1.dim'?");
}

TEST(ConfigErrors, UnknownKeyFarFromAnyListsTheValidKeys) {
  const std::string err = LoadError("model:\n  zzz: 1\n");
  EXPECT_EQ(err, "unknown key 'model.zzz' (configs/x.yaml line 2); valid keys in model: type, dlrm, sequence");
}

TEST(ConfigErrors, DuplicateKey) {
  EXPECT_EQ(LoadError("train:\n  steps: 5\n  steps: 6\n"),
            "duplicate key 'train.steps' (configs/x.yaml line 3); it is already set at line 2");
}

TEST(ConfigErrors, WrongType) {
  EXPECT_EQ(LoadError("train:\n  steps: abc\n"),
            "train.steps: expected an unsigned integer, got 'abc' (configs/x.yaml line 2)");
  EXPECT_EQ(
      LoadError("data:\n  source: parquet\n"),
      "data.source: expected one of SYNTHETIC, CRITEO_TSV, BINARY, SEQUENCES, got 'parquet' (configs/x.yaml line 2)");
  EXPECT_EQ(LoadError("model:\n  dlrm:\n    interaction_self: maybe\n"),
            "model.dlrm.interaction_self: expected true or false, got 'maybe' (configs/x.yaml line 3)");
  EXPECT_EQ(LoadError("optimizer:\n  lr: fast\n"),
            "optimizer.lr: expected a number, got 'fast' (configs/x.yaml line 2)");
  EXPECT_EQ(LoadError("model:\n  dlrm:\n    top_mlp: 5\n"),
            "model.dlrm.top_mlp: expected a list of unsigned integers, got '5' (configs/x.yaml line 3)");
  EXPECT_EQ(LoadError("model:\n  dlrm:\n    top_mlp: [1,\n      x]\n"),
            "model.dlrm.top_mlp.1: expected an unsigned integer, got 'x' (configs/x.yaml line 4)");
  EXPECT_EQ(LoadError("train: 5\n"), "train: expected a map of keys, got '5' (configs/x.yaml line 1)");
  EXPECT_EQ(LoadError("name: [a, b]\n"), "name: expected a string, got a list (configs/x.yaml line 1)");
  EXPECT_EQ(LoadError("embedding:\n  tables: [3]\n"),
            "embedding.tables.0: expected a map of keys, got '3' (configs/x.yaml line 2)");
  EXPECT_EQ(LoadError("- a\n- b\n"), "the top level: expected a map of keys, got a list (configs/x.yaml line 1)");
}

TEST(ConfigErrors, NegativeNonIntegerAndOverflow) {
  EXPECT_EQ(LoadError("train:\n  steps: -5\n"),
            "train.steps: expected an unsigned integer, got '-5' (configs/x.yaml line 2)");
  EXPECT_EQ(LoadError("train:\n  steps: 1.5\n"),
            "train.steps: expected an unsigned integer, got '1.5' (configs/x.yaml line 2)");
  EXPECT_EQ(LoadError("train:\n  threads: 4294967296\n"),
            "train.threads: expected an unsigned 32-bit integer (at most 4294967295), got '4294967296' "
            "(configs/x.yaml line 2)");
  EXPECT_EQ(LoadError("train:\n  steps: 18446744073709551616\n"),
            "train.steps: expected an unsigned 64-bit integer (at most 18446744073709551615), got "
            "'18446744073709551616' (configs/x.yaml line 2)");
  EXPECT_EQ(LoadError("embedding:\n  tables:\n    - {name: a, rank: 3000000000}\n"),
            "embedding.tables.0.rank: expected a 32-bit integer (-2147483648 .. 2147483647), got '3000000000' "
            "(configs/x.yaml line 3)");
  EXPECT_EQ(LoadError("data:\n  synthetic:\n    cardinalities: [10, -1]\n"),
            "data.synthetic.cardinalities.1: expected an unsigned integer, got '-1' (configs/x.yaml line 3)");
  EXPECT_EQ(LoadError("optimizer:\n  lr: .nan\n"),
            "optimizer.lr: expected a number, got '.nan' (configs/x.yaml line 2)");
}

TEST(ConfigErrors, OutOfRange) {
  EXPECT_EQ(LoadError("train:\n  global_batch_size: 0\n"),
            "train.global_batch_size = 0 is out of range: must be >= 1 (configs/x.yaml line 2)");
  EXPECT_EQ(LoadError("embedding:\n  default_dim: 5000\n"),
            "embedding.default_dim = 5000 is out of range: must be >= 1 and <= 4096 (configs/x.yaml line 2)");
  EXPECT_EQ(LoadError("optimizer:\n  lr: 0\n"),
            "optimizer.lr = 0.0 is out of range: must be > 0 (configs/x.yaml line 2)");
  EXPECT_EQ(LoadError("optimizer:\n  beta1: 1.5\n"),
            "optimizer.beta1 = 1.5 is out of range: must be >= 0 and <= 1 (configs/x.yaml line 2)");
  EXPECT_EQ(LoadError("train:\n  allreduce_bucket_mb: 0.0005\n"),
            "train.allreduce_bucket_mb = 0.0005 is out of range: must be >= 0.001 (configs/x.yaml line 2)");
  EXPECT_EQ(LoadError("model:\n  dlrm:\n    top_mlp: [512, 0, 1]\n"),
            "model.dlrm.top_mlp.1 = 0 is out of range: must be >= 1 (configs/x.yaml line 3)");
  EXPECT_EQ(LoadError("embedding:\n  tables:\n    - features: [0]\n"),
            "embedding.tables.0.name must not be empty (configs/x.yaml line 3)");
  // Every violation is reported, one per line.
  EXPECT_EQ(LoadError("train:\n  steps: 0\n  log_every: 0\n"),
            "train.steps = 0 is out of range: must be >= 1 (configs/x.yaml line 2)\n"
            "train.log_every = 0 is out of range: must be >= 1 (configs/x.yaml line 3)");
  // The bounds themselves are allowed.
  const ExperimentConfig c = Load(
      "optimizer:\n  lr: 1e-12\n  beta1: 1\n  beta2: 0\nembedding:\n  default_dim: 4096\ndata:\n  eval_holdout_every: "
      "2\n");
  EXPECT_DOUBLE_EQ(c.optimizer().lr(), 1e-12);
  EXPECT_EQ(c.embedding().default_dim(), 4096u);
}

TEST(ConfigErrors, ValidateChecksProgrammaticConfigs) {
  ExperimentConfig c = DefaultConfig();
  c.mutable_train()->set_steps(0);
  EXPECT_EQ(testing::ErrorOf([&] { Validate(c); }), "train.steps = 0 is out of range: must be >= 1");
  c = DefaultConfig();
  c.mutable_optimizer()->set_lr(-0.5);
  c.mutable_data()->set_eval_holdout_every(1);
  EXPECT_EQ(testing::ErrorOf([&] { Validate(c); }),
            "data.eval_holdout_every = 1 is out of range: must be >= 2\n"
            "optimizer.lr = -0.5 is out of range: must be > 0");
}

TEST(ConfigErrors, YamlSyntaxError) {
  const std::string err = LoadError("train:\n  steps: 5\n  log_every: [1, 2\n");
  EXPECT_EQ(err.rfind("YAML syntax error: ", 0), 0u) << err;
  EXPECT_NE(err.find("(configs/x.yaml line "), std::string::npos) << err;
  const std::string err2 = LoadError("train:\n  steps: 5\n   bad: : :\n");
  EXPECT_NE(err2.find("YAML syntax error: "), std::string::npos) << err2;
  EXPECT_NE(err2.find("(configs/x.yaml line 3, column "), std::string::npos) << err2;
}

// ---------------------------------------------------------------- overrides

TEST(ConfigOverrides, ScalarsListsAndIndexedElements) {
  const ExperimentConfig c = Load(
      "train:\n  steps: 5\nembedding:\n  tables:\n    - {name: a, features: [0]}\n",
      {"train.steps=7", "model.dlrm.top_mlp=[128, 1]", "embedding.tables.0.dim=8", "embedding.tables.1.name=b",
       "embedding.tables.1.features=[1,2]", "embedding.tables.2={name: c, sharding: table_wise}", "data.source=binary",
       "name=run: 1 # x", "data.synthetic.cardinalities.1=99", "model.dlrm.bottom_mlp.4=8", "data.train_path="});
  EXPECT_EQ(c.train().steps(), 7u);
  EXPECT_EQ(U32(c.model().dlrm().top_mlp()), (std::vector<uint32_t>{128, 1}));
  ASSERT_EQ(c.embedding().tables_size(), 3);
  EXPECT_EQ(c.embedding().tables(0).name(), "a");
  EXPECT_EQ(c.embedding().tables(0).dim(), 8u);
  EXPECT_EQ(U32(c.embedding().tables(0).features()), (std::vector<uint32_t>{0}));
  EXPECT_EQ(c.embedding().tables(1).name(), "b");
  EXPECT_EQ(U32(c.embedding().tables(1).features()), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(c.embedding().tables(2).name(), "c");
  EXPECT_EQ(c.embedding().tables(2).sharding(), TABLE_WISE);
  EXPECT_EQ(c.data().source(), BINARY);
  EXPECT_EQ(c.name(), "run: 1 # x");  // strings take the text verbatim
  EXPECT_EQ(c.data().synthetic().cardinalities(1), 99u);
  EXPECT_EQ(c.data().synthetic().cardinalities(2), 30u);
  EXPECT_EQ(U32(c.model().dlrm().bottom_mlp()), (std::vector<uint32_t>{512, 256, 64, 16, 8}));
  EXPECT_TRUE(c.data().has_train_path());
  EXPECT_EQ(c.data().train_path(), "");
}

TEST(ConfigOverrides, UnknownKey) {
  EXPECT_EQ(LoadError("", {"train.stesp=5"}),
            "unknown key 'train.stesp' (--set train.stesp=5); did you mean 'train.steps'?");
  EXPECT_EQ(LoadError("", {"embedding.tables.0.dimm=5"}),
            "unknown key 'embedding.tables.0.dimm' (--set embedding.tables.0.dimm=5); did you mean "
            "'embedding.tables.0.dim'?");
  EXPECT_EQ(LoadError("", {"train.steps.x=1"}),
            "unknown key 'train.steps.x' (--set train.steps.x=1); train.steps is a single value and has no keys");
}

TEST(ConfigOverrides, Errors) {
  EXPECT_EQ(LoadError("", {"train.steps=abc"}),
            "train.steps: expected an unsigned integer, got 'abc' (--set train.steps=abc)");
  EXPECT_EQ(LoadError("", {"train.global_batch_size=0"}),
            "train.global_batch_size = 0 is out of range: must be >= 1 (--set train.global_batch_size=0)");
  // The override that produced a value is blamed, not the file line it replaced.
  EXPECT_EQ(LoadError("train:\n  steps: 3\n", {"train.steps=0"}),
            "train.steps = 0 is out of range: must be >= 1 (--set train.steps=0)");
  EXPECT_EQ(LoadError("", {"train.steps"}),
            "malformed override 'train.steps': expected key=value, e.g. --set train.steps=100");
  EXPECT_EQ(LoadError("", {"train..steps=1"}),
            "malformed override key 'train..steps': empty name between dots (--set train..steps=1)");
  EXPECT_EQ(LoadError("", {"embedding.tables.2.dim=8"}),
            "embedding.tables.2: index out of range: embedding.tables has 0 elements; use 0 .. 0, where 0 appends "
            "(--set embedding.tables.2.dim=8)");
  EXPECT_EQ(LoadError("", {"embedding.tables.x.dim=8"}),
            "embedding.tables: expected a list index (0 .. 0, where 0 appends), got 'x' (--set "
            "embedding.tables.x.dim=8)");
  const std::string bad_yaml = LoadError("", {"model.dlrm.top_mlp=[1, 2"});
  EXPECT_EQ(bad_yaml.rfind("model.dlrm.top_mlp: the value is not valid YAML: ", 0), 0u) << bad_yaml;
  EXPECT_NE(bad_yaml.find("(--set model.dlrm.top_mlp=[1, 2)"), std::string::npos) << bad_yaml;
}

TEST(ConfigOverrides, ApplyOverridesDoesNotValidate) {
  ExperimentConfig c = DefaultConfig();
  ApplyOverrides(&c, {"train.steps=0", "optimizer.type=adamw"});
  EXPECT_EQ(c.train().steps(), 0u);
  EXPECT_EQ(c.optimizer().type(), ADAMW);
  EXPECT_THROW(Validate(c), Error);
}

// ---------------------------------------------------------------- dump

TEST(ConfigDump, LayoutIsReadableYaml) {
  const std::string y = ToYaml(DefaultConfig());
  EXPECT_EQ(y.rfind("name: \"experiment\"\ndata:\n  source: SYNTHETIC\n  train_path: \"\"\n", 0), 0u) << y;
  EXPECT_NE(y.find("\n    cardinalities: [10, 17, 30, 52, 91,"), std::string::npos) << y;
  EXPECT_NE(y.find("\n    zipf_exponent: 1.05\n"), std::string::npos) << y;
  EXPECT_NE(y.find("\n  tables: []\n"), std::string::npos) << y;
  EXPECT_NE(y.find("\n    eps: 1e-08\n"), std::string::npos) << y;
  EXPECT_NE(y.find("\n  allreduce_bucket_mb: 4.0\n"), std::string::npos) << y;
  ExperimentConfig c = DefaultConfig();
  auto* t = c.mutable_embedding()->add_tables();
  t->set_name("users");
  t->add_features(3);
  t->set_sharding(COLUMN_WISE);
  EXPECT_NE(ToYaml(c).find("\n  tables:\n    - name: \"users\"\n      rows: 0\n      dim: 0\n      pooling: SUM\n"
                           "      features: [3]\n      sharding: COLUMN_WISE\n      column_shards: 0\n      rank: -1\n"
                           "      compression:\n        storage: FULL\n"),
            std::string::npos)
      << ToYaml(c);
}

void ExpectRoundTrip(const ExperimentConfig& c) {
  const std::string y = ToYaml(c);
  const ExperimentConfig back = LoadConfigFromString(y, "dump");
  EXPECT_TRUE(MessageDifferencer::Equivalent(c, back)) << y << "\nvs\n" << ToYaml(back);
  EXPECT_EQ(ToYaml(back), y);
}

TEST(ConfigDump, RoundTrips) {
  ExpectRoundTrip(DefaultConfig());
  ExperimentConfig c = DefaultConfig();
  c.set_name("a \"quoted\": name # not a comment\n\ttab \\ back ü");
  c.mutable_data()->set_source(CRITEO_TSV);
  c.mutable_data()->set_train_path("C:/data/train.txt");
  c.mutable_data()->mutable_synthetic()->clear_cardinalities();
  c.mutable_data()->mutable_synthetic()->add_multi_hot_max(3);
  c.mutable_data()->mutable_synthetic()->set_bias(-1.2345678901234567);
  c.mutable_data()->mutable_synthetic()->set_zipf_exponent(1e300);
  c.mutable_data()->mutable_synthetic()->set_seed(std::numeric_limits<uint64_t>::max());
  c.mutable_optimizer()->set_lr(0.1);
  c.mutable_optimizer()->set_eps(1e-12);
  c.mutable_optimizer()->set_decay(POLYNOMIAL);
  c.mutable_model()->mutable_dlrm()->set_interaction_self(true);
  for (int i = 0; i < 2; ++i) {
    TableConfig* t = c.mutable_embedding()->add_tables();
    t->set_name("t" + std::to_string(i));
    t->set_rows(100 + i);
    t->add_features(i);
    t->set_rank(i - 1);
    t->set_pooling(MEAN);
  }
  c.mutable_train()->set_steps(1);
  c.mutable_train()->set_output_dir("");
  ExpectRoundTrip(c);
  EXPECT_EQ(LoadConfigFromString(ToYaml(c), "dump").name(), c.name());
}

// ---------------------------------------------------------------- reference doc

// Every key path in the schema, "embedding.tables.<i>.name" for list elements.
void AllKeys(const google::protobuf::Descriptor* d, const std::string& prefix, std::vector<std::string>* out,
             std::vector<const google::protobuf::FieldDescriptor*>* fields) {
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    const std::string path = prefix.empty() ? f->name() : prefix + "." + f->name();
    out->push_back(path);
    fields->push_back(f);
    if (f->message_type() != nullptr) AllKeys(f->message_type(), f->is_repeated() ? path + ".<i>" : path, out, fields);
  }
}

TEST(ConfigDoc, EveryKeyHasHelpAndARow) {
  std::vector<std::string> keys;
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  AllKeys(ExperimentConfig::descriptor(), "", &keys, &fields);
  ASSERT_GT(keys.size(), 70u);
  const std::string doc = DescribeSchemaMarkdown();
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_FALSE(fields[i]->options().GetExtension(schema::help).empty()) << keys[i] << " has no (schema.help)";
    EXPECT_NE(doc.find("| `" + keys[i] + "` |"), std::string::npos) << keys[i];
  }
}

TEST(ConfigDoc, RowsShowTypeDefaultBoundsAndHelp) {
  const std::string doc = DescribeSchemaMarkdown();
  EXPECT_NE(doc.find("| `train.global_batch_size` | uint64 | `2048` | >= 1 | samples per step over all ranks"),
            std::string::npos);
  EXPECT_NE(
      doc.find(
          "| `data.source` | enum: `SYNTHETIC`, `CRITEO_TSV`, `BINARY`, `SEQUENCES` | `SYNTHETIC` |  | where samples"),
      std::string::npos);
  EXPECT_NE(doc.find("| `optimizer.lr` | double | `0.001` | > 0 | peak learning rate |"), std::string::npos);
  EXPECT_NE(doc.find("| `optimizer.beta1` | double | `0.9` | >= 0 and <= 1 |"), std::string::npos);
  EXPECT_NE(doc.find("| `model.dlrm.top_mlp` | list of uint32 | `[512, 256, 1]` | each >= 1 |"), std::string::npos);
  EXPECT_NE(doc.find("| `embedding.tables.<i>.name` | string | `\"\"` | non-empty | table name"), std::string::npos);
  EXPECT_NE(doc.find("\n## `embedding.tables.<i>` (TableConfig, one per element of `embedding.tables`)\n"),
            std::string::npos);
  EXPECT_NE(doc.find("`--set a.b.c=value`"), std::string::npos);
  EXPECT_NE(doc.find("shardrec-train --describe-config"), std::string::npos);
}

TEST(ConfigDoc, ExampleInTheIntroLoads) {
  const std::string doc = DescribeSchemaMarkdown();
  const size_t begin = doc.find("```yaml\n");
  ASSERT_NE(begin, std::string::npos);
  const size_t end = doc.find("```\n", begin + 8);
  ASSERT_NE(end, std::string::npos);
  const ExperimentConfig c = LoadConfigFromString(doc.substr(begin + 8, end - begin - 8), "docs example");
  EXPECT_EQ(c.name(), "criteo-kaggle");
  EXPECT_EQ(c.data().source(), CRITEO_TSV);
  EXPECT_EQ(c.train().steps(), 20000u);
}

// docs/configuration.md is DescribeSchemaMarkdown()'s output, byte for byte.
// SHARDREC_UPDATE_DOCS=1 rewrites it (same result as shardrec-train --describe-config).
TEST(ConfigDoc, CheckedInReferenceIsInSync) {
  const std::string path = shardrec::testing::SourceDir() + "/docs/configuration.md";
  const std::string expected = DescribeSchemaMarkdown();
  if (std::getenv("SHARDREC_UPDATE_DOCS") != nullptr) {
    std::ofstream(path, std::ios::binary) << expected;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in.good()) << path << " is missing; run shardrec-train --describe-config > docs/configuration.md";
  std::ostringstream actual;
  actual << in.rdbuf();
  if (actual.str() == expected) return;
  std::istringstream a(actual.str()), e(expected);
  std::string la, le;
  int line = 0;
  while (true) {
    ++line;
    const bool more_a = static_cast<bool>(std::getline(a, la));
    const bool more_e = static_cast<bool>(std::getline(e, le));
    if (!more_a && !more_e) break;
    if (!more_a || !more_e || la != le) break;
  }
  ADD_FAILURE() << path << " is stale (first difference at line " << line << ")\n  file:      " << la
                << "\n  generated: " << le
                << "\nRegenerate it: shardrec-train --describe-config > docs/configuration.md "
                   "(or SHARDREC_UPDATE_DOCS=1 config_test)";
}

}  // namespace
}  // namespace shardrec::config
