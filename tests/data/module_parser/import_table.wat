;; The table comes from the host: samepage guests must define their own.
(module
  (import "env" "__indirect_function_table" (table 1 funcref))
  (memory 1))
