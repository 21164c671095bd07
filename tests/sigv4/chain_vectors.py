"""Chained :chunk-signature vectors, computed by amazon_transcribe (make_chain_vectors.py).

Each frame: its time, the inner message (an AudioEvent of 320 bytes, or b'' for the
end frame), the expected signature and the SHA-256 of the whole outer frame.
"""

import datetime as dt

ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
REGION = "us-west-2"
SERVICE = "transcribe"
SEED = "8a6b5b3c1dd2d8e2b1c6e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7"  # the request's signature, seeding the chain

FRAMES = [
    # audio frame 0, payload audio(0); 2024-03-09T23:59:59.500000+00:00
    (
        dt.datetime.fromisoformat("2024-03-09T23:59:59.500000+00:00"),
        False,  # end frame
        "fa4a89cdd061ca71ae0cccda2d99e2227f5ed53805df6351f1f0bf1f0a8d7b50",  # signature
        "a031dbeff7b51f24c58504dd1ba4e321b845a239dbefe210618a5559f55d3da3",  # sha256 of the outer frame
    ),
    # audio frame 1, payload audio(1); 2024-03-09T23:59:59.875000+00:00
    (
        dt.datetime.fromisoformat("2024-03-09T23:59:59.875000+00:00"),
        False,  # end frame
        "a91f6107f3faa77a542af2134baaf68b219d98436f7f23f3b6e8aea003f84677",  # signature
        "2f23d18687c0421c3d3fbc04239582ee02412ca9392243f18d7a1f6ab32fa3d8",  # sha256 of the outer frame
    ),
    # audio frame 2, payload audio(2); 2024-03-10T00:00:00.125000+00:00
    (
        dt.datetime.fromisoformat("2024-03-10T00:00:00.125000+00:00"),
        False,  # end frame
        "8bcc43b5cc9d27e9f6efcb43dcb126e85e0dfccd52a6d972419cb2cb2fa3d388",  # signature
        "7837903176d655d699922db9faa0c9a9700451850dac466bc434f3e820f76a3f",  # sha256 of the outer frame
    ),
    # end frame, empty payload; 2024-03-10T00:00:01+00:00
    (
        dt.datetime.fromisoformat("2024-03-10T00:00:01+00:00"),
        True,  # end frame
        "71aa9bd88a7d44e440c8ba918138e32daa798b8c8fcca696659d1fc2c8bcfd13",  # signature
        "827e10c3bc902809b10d97beaf23300e9690b3d0ac370319f7c35d22f412356d",  # sha256 of the outer frame
    ),
]
