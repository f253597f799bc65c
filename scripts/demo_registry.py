"""The demo's registry step: what a VO client sees of the data centre through RegTAP."""

import sys

import pyvo

url = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
pyvo.registry.choose_RegTAP_service(f"{url}/registry/tap")
uws = "ivo://ivoa.net/std/uws#rest-1.1"
for resource in pyvo.registry.search(servicetype=uws):
    interface = resource.get_interface(service_type=uws)
    print(f"execution service  {resource.ivoid}  {interface.access_url}")
for resource in pyvo.registry.search(keywords=["cross-match"]):
    print(f"application        {resource.ivoid}  {resource.res_title}")
