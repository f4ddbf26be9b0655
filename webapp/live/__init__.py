"""Live updates pushed to signed-in browsers over Socket.IO (each user has a room of their own)."""
