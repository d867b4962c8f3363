"""The CRM domain: tables, policy and service functions. No HTTP in here."""

import os

# Piccolo finds its engine through this module; set before any table is imported.
os.environ.setdefault("PICCOLO_CONF", "crm.piccolo_conf")
