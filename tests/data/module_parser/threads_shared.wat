;; A shared memory alone makes a threads module.
(module
  (memory (export "memory") 1 16 shared))
