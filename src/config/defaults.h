#pragma once

#include <google/protobuf/message.h>

namespace shardrec::config::internal {

// Creates every singular sub-message (recursively) so dumps and has_*() show
// the whole tree, including inside newly added list elements.
void PopulateSubmessages(google::protobuf::Message* msg);

}  // namespace shardrec::config::internal
