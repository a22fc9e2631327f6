from tests.test_forkserver import *  # noqa
from tests.test_forkserver import solution_requests
from nb_helpers.checks import plain

def test_dbg(server):
    for req in solution_requests("04_advanced_training"):
        if req["exercise"] != "train_digits":
            continue
        a = plain.decode(server.request(req)["payload"])
        b = plain.decode(server.request(dict(req, setup=req["setup"] + "\n"))["payload"])
        va, vb = a[0]["value"]["items"], b[0]["value"]["items"]
        for k in va:
            if str(va[k]) != str(vb[k]):
                print("DIFF", k, str(va[k])[:200], str(vb[k])[:200])
        assert False
