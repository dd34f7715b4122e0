mod contact;
mod conversation;

pub use contact::ContactMutation;
pub use conversation::ConversationMutation;
