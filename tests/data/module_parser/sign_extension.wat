;; Sign-extension operators.
(module
  (func (export "f") (param i32) (result i32)
    local.get 0
    i32.extend8_s))
