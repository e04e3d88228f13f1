;; Arithmetic in a constant expression (extended-const proposal).
(module
  (global (export "g") i32 (i32.add (i32.const 40) (i32.const 2))))
