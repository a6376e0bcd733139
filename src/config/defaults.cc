#include "defaults.h"

#include <cstdint>
#include <initializer_list>

#include "shardrec/config/config.h"

namespace shardrec::config {

namespace internal {

void PopulateSubmessages(google::protobuf::Message* msg) {
  const google::protobuf::Descriptor* d = msg->GetDescriptor();
  const google::protobuf::Reflection* r = msg->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (f->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_MESSAGE && !f->is_repeated()) {
      PopulateSubmessages(r->MutableMessage(msg, f));
    }
  }
}

}  // namespace internal

namespace {

// 26 categorical cardinalities: 10 * 10^(6k/25) for k = 0..25 (a geometric
// progression from 10 to 10,000,000) rounded to two significant digits. Criteo's
// real sizes spread over the same range roughly log-uniformly; a fixed
// progression keeps the synthetic benchmark reproducible and easy to describe.
constexpr uint64_t kCriteoLikeCardinalities[] = {
    10,    17,    30,    52,    91,     160,    280,    480,    830,     1400,    2500,    4400,    7600,
    13000, 23000, 40000, 69000, 120000, 210000, 360000, 630000, 1100000, 1900000, 3300000, 5800000, 10000000};

}  // namespace

ExperimentConfig DefaultConfig() {
  ExperimentConfig cfg;
  internal::PopulateSubmessages(&cfg);
  for (uint64_t c : kCriteoLikeCardinalities) cfg.mutable_data()->mutable_synthetic()->add_cardinalities(c);
  for (uint32_t w : {512u, 256u, 64u, 16u}) cfg.mutable_model()->mutable_dlrm()->add_bottom_mlp(w);
  for (uint32_t w : {512u, 256u, 1u}) cfg.mutable_model()->mutable_dlrm()->add_top_mlp(w);
  return cfg;
}

}  // namespace shardrec::config
