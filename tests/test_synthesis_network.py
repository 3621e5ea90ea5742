"""Reading a network in the forms trials report, and every bad input in one sentence."""

import numpy as np
import pandas as pd
import pytest

from bayesurv.errors import InputError
from bayesurv.synthesis.network import read_network


def write(tmp_path, text, name="net.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_mixed_forms_in_one_file(tmp_path):
    ipd = tmp_path / "trial_c.csv"
    rng = np.random.default_rng(1)
    t = np.concatenate([rng.exponential(10, 40), rng.exponential(14, 40)])
    pd.DataFrame({"time": t, "event": 1, "arm": ["chemo"] * 40 + ["drug B"] * 40}).to_csv(
        ipd, index=False
    )
    p = write(
        tmp_path,
        "Study,Treatment,Comparator,HR,LCI,UCI,ci_level,events,n,time,ipd\n"
        "T1,drug A,chemo,0.71,0.55,0.93,,,,,\n"
        "T2,drug B,chemo,0.75,0.57,0.99,0.975,,,,\n"
        "T3,chemo,,,,,,40,100,2.5,\n"
        "T3,drug A,,,,,,30,100,2.5,\n"
        "T4,chemo,,,,,,,,,trial_c.csv\n"
        "T4,drug B,,,,,,,,,trial_c.csv\n",
    )
    net = read_network(p, reference="chemo")
    assert net.treatments == ["chemo", "drug A", "drug B"]
    assert [net.kind(s) for s in net.studies] == ["contrast", "contrast", "arm", "ipd"]
    # INO-VATE-style 97.5% CI: se = (log 0.99 - log 0.57) / (2 x 2.2414)
    se = net.contrasts.set_index("study").loc["T2", "se"]
    assert se == pytest.approx((np.log(0.99) - np.log(0.57)) / (2 * 2.241403), rel=1e-5)
    assert len(net.ipd) == 80 and net.study_arms("T4") == ["chemo", "drug B"]
    assert net.splittable() == []  # no loop in this network
    edges = net.edges().set_index(["treatment_a", "treatment_b"])["n_studies"].to_dict()
    assert edges == {("chemo", "drug A"): 2, ("chemo", "drug B"): 2}


def test_designs_of_the_three_models():
    t = pd.DataFrame(
        {
            "study": ["s1", "s1", "s2", "s3"],
            "treatment": ["B", "C", "C", "C"],
            "comparator": ["A", "A", "B", "A"],
            "log_hr": [-0.2, -0.4, -0.1, -0.5],
            "se": [0.1, 0.1, 0.2, 0.2],
        }
    )
    net = read_network(t, reference="A")
    assert net.design().tolist() == [[1, 0], [0, 1], [-1, 1], [0, 1]]
    assert net.parameters("ume") == ["d[B vs A]", "d[C vs A]", "d[C vs B]"]
    assert net.design("ume").tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]]
    # removing every trial holding both: only A-B keeps an indirect path (s2 + s3)
    assert net.splittable() == [("A", "B")]
    # split B vs C: trial s2 (C vs B) carries d_direct; the rest are consistent
    M = net.design("nodesplit", ("B", "C"))
    assert M.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0]]


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        # a treatment compared with itself
        (
            "study,treatment,comparator,hr,lower,upper\nA,x,x,0.8,0.6,1.0\n",
            ["row 1", "compared with itself"],
        ),
        # a multi-arm trial whose contrasts do not share a comparator
        (
            "study,treatment,comparator,log_hr,se\nA,x,c,-0.2,0.1\nA,y,x,-0.1,0.1\n",
            ["row 2", "do not share a comparator", "against one comparator"],
        ),
        # se <= 0
        (
            "study,treatment,comparator,log_hr,se\nA,x,c,-0.2,0.1\nB,x,c,-0.1,0\n",
            ["row 2", "se must be positive"],
        ),
        # a CI level outside (0, 1)
        (
            "study,treatment,comparator,hr,lower,upper,ci_level\nA,x,c,0.75,0.57,0.99,97.5\n",
            ["row 1", "outside (0, 1)", "0.975"],
        ),
        # a disconnected network
        (
            "study,treatment,comparator,log_hr,se\nA,x,c,-0.2,0.1\nB,z,y,-0.1,0.2\n",
            ["row 2", "disconnected", "add a trial that links them"],
        ),
        # a study in two forms
        (
            "study,treatment,comparator,log_hr,se,events,n,time\nA,x,c,-0.2,0.1,,,\n"
            "A,c,,,,10,50,2\n",
            ["row 2", "both as contrasts", "one form"],
        ),
        # an arm with more events than patients
        ("study,treatment,events,n,time\nA,x,60,50,2\nA,c,10,50,2\n", ["row 1", "events"]),
        # an arm without follow-up time (cloglog needs it)
        ("study,treatment,events,n\nA,x,6,50\nA,c,10,50\n", ["row 1", "follow-up time"]),
        # a row with no data
        ("study,treatment,comparator,log_hr,se\nA,x,,,\n", ["row 1", "gives no data"]),
    ],
)
def test_bad_networks_are_one_sentence_naming_file_row_and_fix(tmp_path, text, fragments):
    with pytest.raises(InputError) as err:
        read_network(write(tmp_path, text), reference="c" if ",c," in text else None)
    msg = str(err.value)
    assert msg.startswith("net.csv")
    for f in fragments:
        assert f in msg, msg
    assert msg.endswith(".") and msg.count(". ") == 0


def test_unknown_reference_lists_the_treatments(tmp_path):
    p = write(tmp_path, "study,treatment,comparator,log_hr,se\nA,x,c,-0.2,0.1\n")
    with pytest.raises(InputError, match="use one of c, x"):
        read_network(p, reference="placebo")
