"""The compiler: schedule, fuse, split, memory plan, and C code generation (emit/ holds the per-op emitters)."""
