// WASI args and environment through wasi-libc: argv/environ are well formed
// and agree with getenv(). The runner states its expectations as arguments:
//   expect-argc:N     argc must be N
//   expect-env:K=V    getenv("K") must be "V"
//   expect-no-env:K   getenv("K") must be NULL
// Prints "PASS args_env" and returns 0 only when every check held.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

extern char** environ;

static int starts_with(const char* s, const char* prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

int main(int argc, char** argv) {
  CHECK(argc >= 1);
  CHECK(argv[argc] == NULL);
  for (int i = 0; i < argc; ++i) {
    CHECK(argv[i] != NULL);
    printf("arg[%d]=%s\n", i, argv[i]);
  }

  int n_env = 0;
  for (char** e = environ; e != NULL && *e != NULL; ++e, ++n_env) {
    const char* eq = strchr(*e, '=');
    CHECK(eq != NULL);
    if (eq == NULL) continue;
    char key[256];
    const size_t key_len = (size_t)(eq - *e);
    if (key_len >= sizeof(key)) continue;
    memcpy(key, *e, key_len);
    key[key_len] = '\0';
    const char* value = getenv(key);
    CHECK(value != NULL);  // with duplicate keys getenv returns the first one
    printf("env:%s\n", *e);
  }
  printf("n_env=%d\n", n_env);

  for (int i = 1; i < argc; ++i) {
    if (starts_with(argv[i], "expect-argc:")) {
      CHECK(argc == atoi(argv[i] + strlen("expect-argc:")));
    } else if (starts_with(argv[i], "expect-env:")) {
      const char* kv = argv[i] + strlen("expect-env:");
      const char* eq = strchr(kv, '=');
      CHECK(eq != NULL);
      if (eq == NULL) continue;
      char key[256];
      const size_t key_len = (size_t)(eq - kv);
      CHECK(key_len < sizeof(key));
      if (key_len >= sizeof(key)) continue;
      memcpy(key, kv, key_len);
      key[key_len] = '\0';
      const char* value = getenv(key);
      CHECK(value != NULL && strcmp(value, eq + 1) == 0);
    } else if (starts_with(argv[i], "expect-no-env:")) {
      CHECK(getenv(argv[i] + strlen("expect-no-env:")) == NULL);
    }
  }
  // setenv/unsetenv work on the guest's own copy.
  CHECK(setenv("SAMEPAGE_GUEST_SET", "42", 1) == 0);
  CHECK(getenv("SAMEPAGE_GUEST_SET") != NULL && strcmp(getenv("SAMEPAGE_GUEST_SET"), "42") == 0);
  CHECK(unsetenv("SAMEPAGE_GUEST_SET") == 0);
  CHECK(getenv("SAMEPAGE_GUEST_SET") == NULL);

  if (failures != 0) {
    printf("FAILED args_env: %d checks\n", failures);
    return 1;
  }
  printf("PASS args_env\n");
  return 0;
}
