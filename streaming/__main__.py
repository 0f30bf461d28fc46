"""``python -m streaming``: run the streaming job until stopped."""
import logging

from config import load_settings
from streaming.job import run

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
run(load_settings())
