"""One construct per concern of the DR stage; stacks only compose them."""
