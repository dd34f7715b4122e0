mod contact;
mod conversation;
mod merge;

pub use contact::ContactMutation;
pub use conversation::ConversationMutation;
pub use merge::MergeMutation;
