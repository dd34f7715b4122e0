mod contact;
mod conversation;
mod duplicates;
mod merge;

pub use contact::ContactMutation;
pub use conversation::ConversationMutation;
pub use duplicates::DuplicateMutation;
pub use merge::MergeMutation;
