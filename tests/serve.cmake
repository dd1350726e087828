# peft serve: the API without HTTP, the HTTP transport in-process, and the
# real binary on a real index (with the page in headless Chromium).
peft_test(test_serve_api peft_search)
peft_test(test_serve_http peft_search)
